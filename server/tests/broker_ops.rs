//! Operations: the `tern` binary's startup lines and signal handling, the config file,
//! connection limits and the CONNECT deadline.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;
use tern_codec::{Packet, ReasonCode, Version};
use tern_server::Config;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn binary_prints_startup_lines_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = TernProcess::command();
    cmd.arg("--web-root")
        .arg(dir.path())
        .env("RUST_LOG", "warn");
    let tern = TernProcess::spawn(cmd).await;
    let (mqtt, http) = (&tern.startup[0], &tern.startup[1]);
    let tcp = mqtt
        .strip_prefix("tern: mqtt listening on tcp://")
        .unwrap_or_else(|| panic!("first line: {mqtt}"));
    assert!(
        tcp.starts_with("127.0.0.1:") && !tcp.ends_with(":0"),
        "{mqtt}"
    );
    let addr = http
        .strip_prefix("tern: http listening on http://")
        .and_then(|r| r.split_once(' '))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_else(|| panic!("second line: {http}"));
    assert_eq!(
        *http,
        format!(
            "tern: http listening on http://{addr} (websocket ws://{addr}/mqtt, web ui http://{addr}/)"
        )
    );
    // The listener really is there.
    tokio::net::TcpStream::connect(tcp).await.unwrap();
    let code = tern
        .terminate(Duration::from_secs(10))
        .await
        .expect("no exit after SIGTERM");
    assert!(code.success(), "exit status {code}");
}

#[test]
fn binary_help_lists_the_flags() {
    let out = Command::new(TERN_BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--tcp",
        "--http",
        "--tls",
        "--https",
        "--certfile",
        "--keyfile",
        "--web-root",
        "--config",
        "--help",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
}

#[test]
fn config_file_uses_mosquitto_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.toml");
    std::fs::write(
        &path,
        "max_keepalive = 60\nsys_interval = 3\nmax_inflight_messages = 7\nmax_connections = 2\n",
    )
    .unwrap();
    let c = Config::from_toml_file(&path).unwrap();
    assert_eq!(c.max_keepalive, 60);
    assert_eq!(c.sys_interval, Duration::from_secs(3));
    assert_eq!(c.max_inflight_messages, 7);
    assert_eq!(c.max_connections, 2);
    std::fs::write(&path, "max_keepalive = \"sixty\"\n").unwrap();
    let err = Config::from_toml_file(&path).unwrap_err().to_string();
    assert!(err.contains("tern.toml"), "{err}");
}

#[tokio::test]
async fn max_connections_is_enforced_across_transports() {
    let srv = Broker::with(|c| c.max_connections = 1).await;
    let (mut first, ack) = Client::connect(srv.tcp, Version::V3_1_1, "one", true).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    // A second TCP connection is closed without CONNACK.
    let mut second = Client::tcp(srv.tcp, Version::V3_1_1, "second").await;
    second
        .send(Packet::Connect(Box::new(connect_packet(
            Version::V3_1_1,
            "two",
            true,
        ))))
        .await;
    assert!(second.expect_closed().await.is_empty());
    // A WebSocket upgrade is refused too.
    let url = srv.ws_url();
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err()
    );
    // Once the first leaves, there is room again.
    first
        .send(Packet::Disconnect(tern_codec::Disconnect {
            reason: ReasonCode::Success,
            properties: Default::default(),
        }))
        .await;
    first.expect_closed().await;
    // The slot is released before the close we just saw: there is room again at once.
    let (_again, ack) = Client::connect(srv.tcp, Version::V3_1_1, "three", true).await;
    assert_eq!(ack.reason, ReasonCode::Success);
}

#[tokio::test]
async fn connect_deadline_closes_silent_connections() {
    let srv = Broker::with(|c| c.connect_timeout = Duration::from_millis(300)).await;
    let mut s = tokio::net::TcpStream::connect(srv.tcp).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(DEADLINE, s.read(&mut buf))
        .await
        .expect("closed within the deadline")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without a packet");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn websocket_legacy_subprotocol_mqttv3_1_is_selected() {
    let srv = Broker::start().await;
    let (_ws, proto) =
        Client::ws_offering(&srv.ws_url(), Version::V3_1, "legacy", "mqttv3.1").await;
    assert_eq!(proto.as_deref(), Some("mqttv3.1"));
}
