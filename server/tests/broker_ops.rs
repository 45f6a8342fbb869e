//! Operations: the `tern` binary's startup lines and signal handling, the config file,
//! connection limits and the CONNECT deadline.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use tern_codec::{Packet, ReasonCode, Version};
use tern_server::Config;
use tokio::io::AsyncReadExt;

#[test]
fn binary_prints_startup_lines_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .args([
            "--tcp",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--web-root",
        ])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mqtt = lines.next().unwrap().unwrap();
    let http = lines.next().unwrap().unwrap();
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
        http,
        format!(
            "tern: http listening on http://{addr} (websocket ws://{addr}/mqtt, web ui http://{addr}/)"
        )
    );
    // The listener really is there.
    std::net::TcpStream::connect(tcp).unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            assert!(code.success(), "exit status {code}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binary_help_lists_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("--help")
        .output()
        .unwrap();
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
    let srv = start_with(|c| c.max_connections = 1).await;
    let (mut first, ack) = Client::connect(srv.tcp, Version::V3_1_1, "one", true).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    // A second TCP connection is closed without CONNACK.
    let mut second = Client::tcp(srv.tcp, Version::V3_1_1).await;
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
    let srv = start_with(|c| c.connect_timeout = Duration::from_millis(300)).await;
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
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let srv = start().await;
    let mut req = srv.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqttv3.1".parse().unwrap());
    let (_ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok()),
        Some("mqttv3.1")
    );
}
