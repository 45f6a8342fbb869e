//! Persistence (`persistence = true`) of retained messages and the snapshot file itself:
//! restart of the in-process broker and of the `tern` binary (SIGTERM), damaged file and
//! missing directory refused at start, a failed save keeping the previous snapshot,
//! autosave.

mod common;
mod persist;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use persist::*;
use tern_codec::{Packet, PublishProperties, QoS, Version};
use tokio::io::{AsyncBufReadExt, BufReader};

const V5: Version = Version::V5;
const V311: Version = Version::V3_1_1;

#[tokio::test]
async fn retained_message_with_properties_survives_restart_mqtt_3_3_1_5() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let srv = start_with(move |c| {
        c.persistence = true;
        c.persistence_location = Some(d);
        c.sys_interval = Duration::from_secs(1);
    })
    .await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "pub", true).await;
    let props = PublishProperties {
        message_expiry_interval: Some(3600),
        user_properties: vec![("k".into(), "v".into())],
        content_type: Some("text/plain".into()),
        correlation_data: Some(Bytes::from_static(b"corr")),
        ..Default::default()
    };
    publish_v5(&mut p, "keep/me", b"hello", 1, true, props.clone()).await;
    drop(p);
    srv.shutdown().await.unwrap();
    // This run published `$SYS` (retained); a run without `$SYS` must not see stale values.
    let srv = start_in(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V5, "sys", true).await;
    s.subscribe(1, "$SYS/#", QoS::AtMostOnce).await;
    s.expect_nothing(Duration::from_millis(300)).await;
    drop(s);
    srv.shutdown().await.unwrap();
    assert!(dir.path().join("tern.db").exists());

    let srv = start_in(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V5, "sub", true).await;
    s.subscribe(1, "keep/#", QoS::AtLeastOnce).await;
    let m = recv_publish(&mut s).await;
    assert_eq!(m.payload, Bytes::from_static(b"hello"));
    assert!(m.retain, "[MQTT-3.3.1-8] retained on subscribe");
    assert_eq!(m.properties.user_properties, props.user_properties);
    assert_eq!(m.properties.content_type, props.content_type);
    assert_eq!(m.properties.correlation_data, props.correlation_data);
    let left = m.properties.message_expiry_interval.unwrap();
    assert!((3590..=3600).contains(&left), "remaining expiry {left}");
    srv.shutdown().await.unwrap();
}

/// Subscribe QoS 1 with a persistent session, go offline, have messages queued, restart:
/// the session is present and the queued messages arrive in order [MQTT-3.2.2-2].
#[tokio::test]
async fn corrupt_file_refuses_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_in(dir.path()).await;
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    p.publish("r", b"x", QoS::AtLeastOnce, 1, true).await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    drop(p);
    srv.shutdown().await.unwrap();
    let path = dir.path().join("tern.db");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();

    let mut config = test_config();
    config.persistence = true;
    config.persistence_location = Some(dir.path().to_owned());
    let err = match tern_server::Server::bind(config).await {
        Ok(_) => panic!("started with a damaged persistence file"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("checksum"), "{err}");
    // A persistence_location that does not exist is refused at start, not at first save.
    let mut config = test_config();
    config.persistence = true;
    config.persistence_location = Some(dir.path().join("missing"));
    let err = match tern_server::Server::bind(config).await {
        Ok(_) => panic!("started without a persistence directory"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("not a directory"), "{err}");
    // The damaged file is left for the operator, not replaced.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn failed_save_keeps_previous_snapshot_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start_in(dir.path()).await;
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    p.publish("r", b"first", QoS::AtLeastOnce, 1, true).await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    drop(p);
    srv.shutdown().await.unwrap();
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(dir.path()),
        vec!["tern.db".to_string()],
        "no temp file left"
    );
    let good = std::fs::read(dir.path().join("tern.db")).unwrap();

    let srv = start_in(dir.path()).await;
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    p.publish("r", b"second", QoS::AtLeastOnce, 1, true).await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    drop(p);
    // Make the write fail: a directory where the temporary file must be created (the
    // test runs as root, so a read-only directory would not stop it).
    let blocker = dir
        .path()
        .join(format!(".tern.db.tmp-{}", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let err = srv.shutdown().await.unwrap_err();
    assert!(err.contains("tern.db"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("tern.db")).unwrap(),
        good,
        "previous snapshot intact"
    );
    std::fs::remove_dir(&blocker).unwrap();

    let srv = start_in(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V311, "sub", true).await;
    s.subscribe(1, "r", QoS::AtLeastOnce).await;
    assert_eq!(
        recv_publish(&mut s).await.payload,
        Bytes::from_static(b"first")
    );
    drop(s);
    srv.shutdown().await.unwrap();
}

#[tokio::test]
async fn autosave_interval_writes_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let srv = start_with(move |c| {
        c.persistence = true;
        c.persistence_location = Some(d);
        c.autosave_on_changes = true;
        c.autosave_interval = 1;
    })
    .await;
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    p.publish("auto", b"saved", QoS::AtLeastOnce, 1, true).await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    // The file appears without a shutdown (one change = autosave_interval reached).
    let path = dir.path().join("tern.db");
    let deadline = std::time::Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no autosave within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Readable as a complete snapshot by a second broker while the first still runs.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(&path, copy.path().join("tern.db")).unwrap();
    let other = start_in(copy.path()).await;
    let (mut s, _) = Client::connect(other.tcp, V311, "sub", true).await;
    s.subscribe(1, "auto", QoS::AtLeastOnce).await;
    assert_eq!(
        recv_publish(&mut s).await.payload,
        Bytes::from_static(b"saved")
    );
    drop(s);
    drop(p);
    other.shutdown().await.unwrap();
    srv.shutdown().await.unwrap();
}

/// The `tern` binary with a config file; returns the child and its MQTT address (read from
/// the start-up line on stdout).
async fn spawn_tern(dir: &Path) -> (tokio::process::Child, std::net::SocketAddr) {
    let config = dir.join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "persistence = true\npersistence_location = {:?}\nsys_interval = 0\n",
            dir.join("data")
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--web-root")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the tern binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("start-up line in time")
        .unwrap()
        .expect("tern printed its address");
    let addr = line
        .strip_prefix("tern: mqtt listening on tcp://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    // Keep reading stdout so the broker never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// SIGTERM, then the exit status (bounded).
async fn terminate(mut child: tokio::process::Child) -> std::process::ExitStatus {
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("tern exits after SIGTERM")
        .unwrap()
}

#[tokio::test]
async fn tern_binary_saves_on_sigterm_and_loads_on_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let (child, addr) = spawn_tern(dir.path()).await;
    let (mut s, _) = Client::connect(addr, V311, "proc-sub", false).await;
    s.subscribe(1, "proc/#", QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(addr, V311, "proc-pub", true).await;
    p.publish("proc/r", b"retained", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    drop(p);
    assert!(terminate(child).await.success(), "clean exit after saving");
    assert!(dir.path().join("data").join("tern.db").is_file());

    let (child, addr) = spawn_tern(dir.path()).await;
    let (mut s, ack) = Client::connect(addr, V311, "proc-sub", false).await;
    assert!(ack.session_present, "[MQTT-3.2.2-2] session restored");
    let m = recv_publish(&mut s).await;
    assert_eq!(
        m.payload,
        Bytes::from_static(b"retained"),
        "queued while offline"
    );
    puback(&mut s, &m).await;
    let (mut r, _) = Client::connect(addr, V311, "proc-late", true).await;
    r.subscribe(1, "proc/r", QoS::AtLeastOnce).await;
    let m = recv_publish(&mut r).await;
    assert!(m.retain && m.payload == Bytes::from_static(b"retained"));
    drop(r);
    drop(s);
    assert!(terminate(child).await.success());
}
