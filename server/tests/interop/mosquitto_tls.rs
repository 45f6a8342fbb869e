//! Real clients over TLS against the `tls` (MQTT) and `https` (WebSocket) listeners, with a
//! CA and a server certificate for `localhost` / `127.0.0.1` generated at test time:
//! `mosquitto_pub` / `mosquitto_sub --cafile` round trip (both verify the certificate and
//! the host name, as they do by default), and paho-mqtt with `tls_set(ca_certs=...)` over
//! mqtts and wss.

use tern_server::Config;
use tokio::process::Command;

use crate::peer::{Peer, mosquitto, python, run_ok, script};
use crate::support::Broker;
use crate::support::certs::{self, TestPki};

/// tern with both TLS listeners (`$SYS` as shipped: the clients see none of it).
async fn start(pki: &TestPki) -> Broker {
    Broker::with_tls(pki, |c| c.sys_interval = Config::default().sys_interval).await
}

/// `tool -h localhost -p PORT -V version --cafile ca.pem`. `localhost`, not the IP: the
/// clients check the name against the certificate.
fn tool(name: &str, broker: &Broker, pki: &TestPki, version: &str) -> Command {
    let mut c = mosquitto(
        name,
        "localhost",
        broker.tls.expect("tls listener").port(),
        version,
    );
    c.arg("--cafile").arg(&pki.ca);
    c
}

pub async fn mosquitto_round_trip(version: &str) {
    let pki = certs::generate();
    let broker = start(&pki).await;
    for qos in 0..=2u8 {
        let topic = format!("interop/tls-{version}/q{qos}");
        let mut sub = tool("mosquitto_sub", &broker, &pki, version);
        sub.args(["-d", "-i", &format!("tls-sub-{qos}"), "-q", "2", "-C", "1"])
            .args(["-F", "MSG|%t|%q|%p", "-t", &topic]);
        let mut sub = Peer::spawn("mosquitto_sub --cafile", sub);
        sub.line_containing("received SUBACK").await;
        let mut publ = tool("mosquitto_pub", &broker, &pki, version);
        publ.args(["-t", &topic, "-q", &qos.to_string(), "-m", "hello over tls"]);
        run_ok(&format!("mosquitto_pub --cafile {topic}"), publ).await;
        let line = sub.line_containing("MSG|").await;
        assert_eq!(line, format!("MSG|{topic}|{qos}|hello over tls"));
        assert!(sub.exit().await.success());
    }
}

/// mosquitto_pub refuses a broker whose certificate it cannot verify: the TLS listener
/// really presents the configured certificate, and the clients really check it.
pub async fn mosquitto_rejects_an_untrusted_certificate() {
    let pki = certs::generate();
    let other = certs::generate();
    let broker = start(&pki).await;
    let mut publ = tool("mosquitto_pub", &broker, &other, "mqttv311");
    publ.args(["-t", "x", "-m", "never"]);
    let out = tokio::time::timeout(crate::peer::SCRIPT, publ.kill_on_drop(true).output())
        .await
        .expect("mosquitto_pub finished")
        .expect("mosquitto_pub started");
    assert!(
        !out.status.success(),
        "mosquitto_pub accepted a certificate from another CA"
    );
}

/// paho-mqtt (`peers/paho_peer.py --cafile`), `transport` `tcp` (mqtts) or `websockets`
/// (wss on the https listener).
pub async fn paho(transport: &str, version: &str, scenario: &str) {
    let pki = certs::generate();
    let broker = start(&pki).await;
    let port = match transport {
        "tcp" => broker.tls.expect("tls listener").port(),
        _ => broker.https.expect("https listener").port(),
    };
    let mut c = Command::new(python());
    c.arg(script("paho_peer.py"))
        .args(["--host", "localhost", "--port", &port.to_string()])
        .arg("--cafile")
        .arg(&pki.ca)
        .args(["--transport", transport, "--version", version, scenario]);
    let out = run_ok(&format!("paho tls {transport} {version} {scenario}"), c).await;
    assert!(out.contains(&format!("OK {scenario}")), "{out}");
}
