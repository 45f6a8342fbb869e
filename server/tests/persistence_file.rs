//! Persistence (`persistence = true`) of retained messages and the database itself:
//! restart of the in-process broker and of the `tern` binary (SIGTERM), damaged database and
//! missing directory refused at start, import of the earlier snapshot format, and data on
//! disk before its acknowledgement.

mod support;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use support::*;
use tern_codec::{Packet, PublishProperties, QoS, Version};

const V5: Version = Version::V5;
const V311: Version = Version::V3_1_1;

#[tokio::test]
async fn retained_message_with_properties_survives_restart_mqtt_3_3_1_5() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let srv = Broker::with(move |c| {
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
    p.publish_qos1_with("keep/me", b"hello", 1, true, props.clone())
        .await;
    drop(p);
    srv.shutdown().await.unwrap();
    // This run published `$SYS` (retained); a run without `$SYS` must not see stale values.
    let srv = Broker::persistent(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V5, "sys", true).await;
    s.subscribe_pid(1, "$SYS/#", QoS::AtMostOnce).await;
    s.expect_quiet(Duration::from_millis(300)).await;
    drop(s);
    srv.shutdown().await.unwrap();
    assert!(dir.path().join("tern.db").exists());

    let srv = Broker::persistent(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V5, "sub", true).await;
    s.subscribe_pid(1, "keep/#", QoS::AtLeastOnce).await;
    let m = s.recv_publish().await;
    assert_eq!(m.payload, Bytes::from_static(b"hello"));
    assert!(m.retain, "[MQTT-3.3.1-8] retained on subscribe");
    assert_eq!(m.properties.user_properties, props.user_properties);
    assert_eq!(m.properties.content_type, props.content_type);
    assert_eq!(m.properties.correlation_data, props.correlation_data);
    let left = m.properties.message_expiry_interval.unwrap();
    assert!((3590..=3600).contains(&left), "remaining expiry {left}");
    srv.shutdown().await.unwrap();
}

/// A database that is damaged (garbage over its header, or over a page in the middle) or a
/// directory that does not exist: the broker refuses to start, naming the file, and leaves
/// the file for the operator.
#[tokio::test]
async fn damaged_database_refuses_to_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    for i in 0..200u16 {
        let topic = format!("r/{i}");
        p.send_publish(&topic, &[b'x'; 200], QoS::AtLeastOnce, i + 1, true)
            .await;
        assert!(matches!(p.recv().await, Packet::PubAck(_)));
    }
    drop(p);
    srv.shutdown().await.unwrap();
    let path = dir.path().join("tern.db");
    let good = std::fs::read(&path).unwrap();
    assert!(good.len() > 16 * 4096, "several pages: {}", good.len());
    let bind = |location: std::path::PathBuf| {
        let mut config = test_config();
        config.persistence = true;
        config.persistence_location = Some(location);
        async move {
            match tern_server::Server::bind(config).await {
                Ok(_) => panic!("started with a damaged or missing persistence store"),
                Err(e) => e.to_string(),
            }
        }
    };
    for (what, at) in [("header", 0), ("page", 8 * 4096)] {
        let mut bytes = good.clone();
        for b in &mut bytes[at..at + 4096] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = bind(dir.path().to_owned()).await;
        assert!(err.contains(&path.display().to_string()), "{what}: {err}");
        // The damaged file is left for the operator, not replaced.
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}");
    }
    // A persistence_location that does not exist is refused at start, not at first write.
    let err = bind(dir.path().join("missing")).await;
    assert!(err.contains("not a directory"), "{err}");
}

/// A snapshot file of the earlier persistence format at the database's path is imported
/// once (and kept aside as `tern.db.snapshot-v1`): its retained messages, sessions and
/// queued messages are all there, and later starts read the database.
#[tokio::test]
async fn snapshot_file_of_the_earlier_format_is_imported_once() {
    use std::sync::Arc;
    use tern_server::store::{Clock, Delivery, Image, Message, SessionImage, legacy};
    let dir = tempfile::tempdir().unwrap();
    let msg = |t: &str, payload: &'static [u8]| {
        Arc::new(Message {
            topic: topic(t),
            payload: Bytes::from_static(payload),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: None,
            origin: None,
            expires_at: None,
        })
    };
    let subscription = (
        "old/#".into(),
        tern_codec::SubscriptionOptions::new(QoS::AtLeastOnce),
        None,
    );
    let image = Image {
        retained: vec![msg("old/retained", b"kept")],
        sessions: vec![SessionImage {
            sid: 0,
            client_id: "old-client".into(),
            expiry: tern_server::store::NEVER_EXPIRES,
            disconnected_at: None,
            subscriptions: vec![subscription],
            queue: vec![Delivery {
                msg: msg("old/queued", b"waiting"),
                qos: QoS::AtLeastOnce,
                retain: false,
                sub_ids: Vec::new(),
                stored: None,
            }],
            inflight: Vec::new(),
            incoming_qos2: Vec::new(),
            will: None,
            expired: false,
        }],
    };
    let body = legacy::encode(&image, Clock::now()).unwrap();
    let path = dir.path().join("tern.db");
    legacy::write_atomic(&path, &body).unwrap();

    for run in 0..2 {
        let srv = Broker::persistent(dir.path()).await;
        let (mut s, ack) = Client::connect(srv.tcp, V311, "old-client", false).await;
        assert!(ack.session_present, "run {run}: the session came over");
        if run == 0 {
            let m = s.recv_publish().await;
            assert_eq!(m.payload, Bytes::from_static(b"waiting"));
            s.ack(&m).await;
        }
        let (mut r, _) = Client::connect(srv.tcp, V311, "reader", true).await;
        r.subscribe_pid(1, "old/retained", QoS::AtLeastOnce).await;
        assert_eq!(r.recv_publish().await.payload, Bytes::from_static(b"kept"));
        drop((s, r));
        srv.shutdown().await.unwrap();
        assert!(
            dir.path().join("tern.db.snapshot-v1").is_file(),
            "kept aside"
        );
    }
}

/// Acknowledged means stored: right after the PUBACK, a copy of the database files (taken
/// while the broker still runs, as a crash would leave them) holds the message.
#[tokio::test]
async fn acknowledged_messages_are_in_the_database_before_the_puback() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V311, "durable-sub", false).await;
    s.subscribe_pid(1, "now/#", QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    p.send_publish("now/retained", b"stored", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    // Copy the database and its write-ahead log as they are on disk now.
    let copy = tempfile::tempdir().unwrap();
    for name in ["tern.db", "tern.db-wal"] {
        let from = dir.path().join(name);
        if from.exists() {
            std::fs::copy(&from, copy.path().join(name)).unwrap();
        }
    }
    let other = Broker::persistent(copy.path()).await;
    let (mut s, ack) = Client::connect(other.tcp, V311, "durable-sub", false).await;
    assert!(ack.session_present);
    assert_eq!(
        s.recv_publish().await.payload,
        Bytes::from_static(b"stored")
    );
    let (mut r, _) = Client::connect(other.tcp, V311, "reader", true).await;
    r.subscribe_pid(1, "now/retained", QoS::AtLeastOnce).await;
    assert!(r.recv_publish().await.retain);
    drop((s, r, p));
    other.shutdown().await.unwrap();
    srv.shutdown().await.unwrap();
}

/// The `tern` binary with `persistence = true` in `dir/data` (config file `dir/tern.toml`).
async fn spawn_tern(dir: &Path) -> TernProcess {
    let config = dir.join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "persistence = true\npersistence_location = {:?}\nsys_interval = 0\n",
            dir.join("data")
        ),
    )
    .unwrap();
    TernProcess::start([
        "--config".as_ref(),
        config.as_os_str(),
        "--web-root".as_ref(),
        dir.as_os_str(),
    ])
    .await
}

#[tokio::test]
async fn tern_binary_saves_on_sigterm_and_loads_on_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let tern = spawn_tern(dir.path()).await;
    let addr = tern.tcp;
    let (mut s, _) = Client::connect(addr, V311, "proc-sub", false).await;
    s.subscribe_pid(1, "proc/#", QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(addr, V311, "proc-pub", true).await;
    p.send_publish("proc/r", b"retained", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    drop(p);
    let exit = tern.terminate(Duration::from_secs(10)).await;
    assert!(
        exit.expect("tern exits after SIGTERM").success(),
        "clean exit after saving"
    );
    assert!(dir.path().join("data").join("tern.db").is_file());

    let tern = spawn_tern(dir.path()).await;
    let addr = tern.tcp;
    let (mut s, ack) = Client::connect(addr, V311, "proc-sub", false).await;
    assert!(ack.session_present, "[MQTT-3.2.2-2] session restored");
    let m = s.recv_publish().await;
    assert_eq!(
        m.payload,
        Bytes::from_static(b"retained"),
        "queued while offline"
    );
    s.ack(&m).await;
    let (mut r, _) = Client::connect(addr, V311, "proc-late", true).await;
    r.subscribe_pid(1, "proc/r", QoS::AtLeastOnce).await;
    let m = r.recv_publish().await;
    assert!(m.retain && m.payload == Bytes::from_static(b"retained"));
    drop(r);
    drop(s);
    let exit = tern.terminate(Duration::from_secs(10)).await;
    assert!(exit.expect("tern exits after SIGTERM").success());
}
