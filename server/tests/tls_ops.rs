//! TLS failure modes and operations: a failed or silent handshake only closes that
//! connection (and counts against `max_connections` while it lasts), unusable
//! certificate/key files stop start-up with the file named, and the `tern` binary's
//! `--tls` / `--https` flags and start-up lines.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use support::certs::{self, TestPki};
use support::*;
use tern_codec::{Packet, ReasonCode, Version};
use tern_server::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A TLS client that connects, so the listener is still serving.
async fn tls_client_connects(srv: &Broker, pki: &TestPki, id: &str) {
    let mut c = Client::tls(
        srv.tls.unwrap(),
        &pki.connector(false, &[]),
        Version::V3_1_1,
        id,
    )
    .await;
    let ack = c.handshake(connect_packet(Version::V3_1_1, id, true)).await;
    assert_eq!(ack.reason, ReasonCode::Success);
}

#[tokio::test]
async fn plaintext_mqtt_on_the_tls_port_is_closed_and_the_listener_keeps_serving() {
    let pki = certs::generate();
    let srv = Broker::with_tls(&pki, |_| {}).await;
    let mut raw = TcpStream::connect(srv.tls.unwrap()).await.unwrap();
    let mut connect = bytes::BytesMut::new();
    let packet = Packet::Connect(Box::new(connect_packet(Version::V3_1_1, "plain", true)));
    tern_codec::encode(&packet, Version::V3_1_1, &mut connect).unwrap();
    raw.write_all(&connect).await.unwrap();
    let got = read_until_closed(&mut raw, DEADLINE).await;
    // At most a TLS alert record (content type 21), never a CONNACK (0x20).
    assert!(got.first().is_none_or(|&b| b == 21), "{got:?}");
    tls_client_connects(&srv, &pki, "after-plain").await;
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_certificate_fails_only_its_own_handshake() {
    let pki = certs::generate();
    let other = certs::generate();
    let srv = Broker::with_tls(&pki, |_| {}).await;
    let err = tls_stream(srv.tls.unwrap(), &other.connector(false, &[]))
        .await
        .expect_err("a certificate from an unknown CA must be rejected");
    assert!(err.to_string().contains("certificate"), "{err}");
    tls_client_connects(&srv, &pki, "trusting").await;
}

#[tokio::test]
async fn silent_tls_handshakes_hold_a_max_connections_slot_until_connect_timeout() {
    let pki = certs::generate();
    let srv = Broker::with_tls(&pki, |c| {
        c.max_connections = 1;
        c.connect_timeout = Duration::from_millis(300);
    })
    .await;
    for port in [srv.tls.unwrap(), srv.https.unwrap()] {
        // Opens the socket and never starts the handshake.
        let mut silent = TcpStream::connect(port).await.unwrap();
        // The only slot is taken: a real client is turned away (its handshake fails).
        let refused = tls_stream(srv.tls.unwrap(), &pki.connector(false, &[])).await;
        let refused = match refused {
            Err(_) => true,
            Ok(mut s) => matches!(s.read(&mut [0u8; 8]).await, Ok(0) | Err(_)),
        };
        assert!(
            refused,
            "second connection accepted beyond max_connections ({port})"
        );
        // The deadline ends the silent handshake and frees the slot.
        assert!(read_until_closed(&mut silent, DEADLINE).await.is_empty());
        tls_client_connects(&srv, &pki, "after-silent").await;
    }
}

async fn bind_error(adjust: impl FnOnce(&mut Config)) -> String {
    let mut c = Config {
        tcp: SocketAddr::from(([127, 0, 0, 1], 0)),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..Config::default()
    };
    adjust(&mut c);
    match Server::bind(c).await {
        Ok(_) => panic!("Server::bind accepted an unusable TLS configuration"),
        Err(e) => e.to_string(),
    }
}

fn with_files(c: &mut Config, cert: &Path, key: &Path) {
    c.certfile = Some(cert.to_owned());
    c.keyfile = Some(key.to_owned());
}

#[tokio::test]
async fn unusable_tls_files_refuse_start_up_and_name_the_file() {
    let pki = certs::generate();
    let dir = pki.dir.path();
    let missing = dir.join("missing.pem");
    let err = bind_error(|c| with_files(c, &missing, &pki.key)).await;
    assert!(
        err.contains("certfile") && err.contains("missing.pem"),
        "{err}"
    );

    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let err = bind_error(|c| with_files(c, &garbage, &pki.key)).await;
    assert!(
        err.contains("certfile") && err.contains("garbage.pem"),
        "{err}"
    );
    let err = bind_error(|c| with_files(c, &pki.cert, &garbage)).await;
    assert!(
        err.contains("keyfile") && err.contains("garbage.pem"),
        "{err}"
    );

    // A key that belongs to another certificate.
    let err = bind_error(|c| with_files(c, &pki.cert, &pki.client_key)).await;
    assert!(
        err.contains("server.pem") && err.contains("client.key"),
        "{err}"
    );

    let err = bind_error(|c| c.certfile = Some(pki.cert.clone())).await;
    assert!(err.contains("certfile and keyfile"), "{err}");
    let err = bind_error(|c| {
        with_files(c, &pki.cert, &pki.key);
        c.require_certificate = true;
    })
    .await;
    assert!(err.contains("cafile"), "{err}");
    // The https listener alone needs the files too.
    let err = bind_error(|c| {
        c.tls = None;
        c.https = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    assert!(err.contains("certfile and keyfile"), "{err}");
}

#[tokio::test]
async fn binary_prints_tls_startup_lines_and_refuses_a_bad_keyfile() {
    let pki = certs::generate();
    let mut cmd = TernProcess::command();
    cmd.args(["--tls", "127.0.0.1:0", "--https", "127.0.0.1:0"])
        .arg("--certfile")
        .arg(&pki.cert)
        .arg("--keyfile")
        .arg(&pki.key)
        .arg("--web-root")
        .arg(pki.dir.path())
        .env("RUST_LOG", "warn");
    let mut tern = TernProcess::spawn(cmd).await;
    let mut lines = tern.startup.clone();
    lines.push(tern.stdout_line().await);
    lines.push(tern.stdout_line().await);
    assert!(
        lines[0].starts_with("tern: mqtt listening on tcp://"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("tern: http listening on http://"),
        "{lines:?}"
    );
    let tls = lines[2]
        .strip_prefix("tern: mqtts listening on tls://")
        .unwrap_or_else(|| panic!("third line: {lines:?}"));
    assert!(
        tls.starts_with("127.0.0.1:") && !tls.ends_with(":0"),
        "{lines:?}"
    );
    let https = lines[3]
        .strip_prefix("tern: https listening on https://")
        .and_then(|r| r.split_once(' '))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_else(|| panic!("fourth line: {lines:?}"));
    assert_eq!(
        lines[3],
        format!("tern: https listening on https://{https} (websocket wss://{https}/mqtt)")
    );
    let tls: SocketAddr = tls.parse().unwrap();
    let mut c = Client::tls(tls, &pki.connector(false, &[]), Version::V5, "bin").await;
    let ack = c.handshake(connect_packet(Version::V5, "bin", true)).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    tern.kill9().await;

    let out = tokio::process::Command::new(TERN_BIN)
        .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(["--tls", "127.0.0.1:0", "--certfile"])
        .arg(&pki.cert)
        .arg("--keyfile")
        .arg(&pki.ca)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("keyfile") && stderr.contains("ca.pem"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no listener may start: {:?}",
        out.stdout
    );
}
