//! Interoperability: the real broker (`tern_server::Server` on 127.0.0.1:0) driven by real
//! third-party clients as child processes — `mosquitto_pub`/`mosquitto_sub` (TCP),
//! paho-mqtt for Python (TCP and WebSocket, MQTT 3.1.1 and 5) and MQTT.js (WebSocket,
//! MQTT 3.1.1 and 5). Each completes QoS 0/1/2 round trips, a retained-message scenario and
//! a will scenario; mosquitto_pub/sub also log in against a `mosquitto_passwd` file and an
//! ACL (`mosquitto_auth.rs`) and resume a persistent session across a tern restart
//! with `persistence = true` (`mosquitto_persist.rs`); over TLS, mosquitto_pub/sub (`--cafile`) and paho-mqtt (mqtts
//! and wss) verify a certificate generated at test time (`mosquitto_tls.rs`). A missing peer fails the test with a hint to run `cargo xtask setup`.

mod mosquitto_auth;
mod mosquitto_clients;
mod mosquitto_persist;
mod mosquitto_tls;
mod peer;
#[path = "../support/mod.rs"]
mod support;

use tokio::process::Command;

use peer::{node_path, on_path, python, run_ok, script};
use support::Broker;

/// paho-mqtt (`peers/paho_peer.py`): `transport` is `tcp` or `websockets`, `version` `311`
/// or `5`; the script asserts everything and exits 0.
async fn paho(transport: &str, version: &str, scenario: &str) {
    let broker = Broker::target().await;
    let port = match transport {
        "tcp" => broker.tcp.port(),
        _ => broker.http.port(),
    };
    let mut c = Command::new(python());
    c.arg(script("paho_peer.py"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--transport", transport, "--version", version, scenario]);
    let out = run_ok(&format!("paho {transport} {version} {scenario}"), c).await;
    assert!(out.contains(&format!("OK {scenario}")), "{out}");
}

/// MQTT.js (`peers/mqttjs_peer.mjs`) over WebSocket; `version` is 4 (3.1.1) or 5.
async fn mqttjs(version: &str, scenario: &str) {
    let broker = Broker::target().await;
    let mut c = Command::new(on_path("node"));
    c.env("NODE_PATH", node_path())
        .arg(script("mqttjs_peer.mjs"))
        .args(["--url", &broker.ws_url(), "--version", version, scenario]);
    let out = run_ok(&format!("MQTT.js ws {version} {scenario}"), c).await;
    assert!(out.contains(&format!("OK {scenario}")), "{out}");
}

macro_rules! interop_tests {
    ($($name:ident => $body:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                $body.await
            }
        )*
    };
}

interop_tests! {
    mosquitto_tcp_v3_1_1_qos_round_trip => mosquitto_clients::qos_round_trip("mqttv311");
    mosquitto_tcp_v3_1_1_retained => mosquitto_clients::retained("mqttv311");
    mosquitto_tcp_v3_1_1_will => mosquitto_clients::will("mqttv311");
    mosquitto_tcp_v5_qos_round_trip => mosquitto_clients::qos_round_trip("mqttv5");
    mosquitto_tcp_v5_retained => mosquitto_clients::retained("mqttv5");
    mosquitto_tcp_v5_will => mosquitto_clients::will("mqttv5");
    mosquitto_tcp_v3_1_1_password_file_and_acl => mosquitto_auth::password_and_acl("mqttv311");
    mosquitto_tcp_v5_password_file_and_acl => mosquitto_auth::password_and_acl("mqttv5");
    mosquitto_v3_1_1_persistent_session_survives_restart => mosquitto_persist::queued_messages_survive_restart("mqttv311");
    mosquitto_v5_persistent_session_survives_restart => mosquitto_persist::queued_messages_survive_restart("mqttv5");
    mosquitto_tls_v3_1_1_qos_round_trip => mosquitto_tls::mosquitto_round_trip("mqttv311");
    mosquitto_tls_v5_qos_round_trip => mosquitto_tls::mosquitto_round_trip("mqttv5");
    mosquitto_tls_rejects_an_untrusted_certificate => mosquitto_tls::mosquitto_rejects_an_untrusted_certificate();
    paho_tls_v3_1_1_qos_round_trip => mosquitto_tls::paho("tcp", "311", "qos");
    paho_tls_v5_will => mosquitto_tls::paho("tcp", "5", "will");
    paho_wss_v5_qos_round_trip => mosquitto_tls::paho("websockets", "5", "qos");

    paho_tcp_v3_1_1_qos_round_trip => paho("tcp", "311", "qos");
    paho_tcp_v3_1_1_retained => paho("tcp", "311", "retain");
    paho_tcp_v3_1_1_will => paho("tcp", "311", "will");
    paho_tcp_v5_qos_round_trip => paho("tcp", "5", "qos");
    paho_tcp_v5_retained => paho("tcp", "5", "retain");
    paho_tcp_v5_will => paho("tcp", "5", "will");
    paho_websocket_v3_1_1_qos_round_trip => paho("websockets", "311", "qos");
    paho_websocket_v3_1_1_retained => paho("websockets", "311", "retain");
    paho_websocket_v3_1_1_will => paho("websockets", "311", "will");
    paho_websocket_v5_qos_round_trip => paho("websockets", "5", "qos");
    paho_websocket_v5_retained => paho("websockets", "5", "retain");
    paho_websocket_v5_will => paho("websockets", "5", "will");

    mqttjs_websocket_v3_1_1_qos_round_trip => mqttjs("4", "qos");
    mqttjs_websocket_v3_1_1_retained => mqttjs("4", "retain");
    mqttjs_websocket_v3_1_1_will => mqttjs("4", "will");
    mqttjs_websocket_v5_qos_round_trip => mqttjs("5", "qos");
    mqttjs_websocket_v5_retained => mqttjs("5", "retain");
    mqttjs_websocket_v5_will => mqttjs("5", "will");
}
