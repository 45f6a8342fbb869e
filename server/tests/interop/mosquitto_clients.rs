//! `mosquitto_pub` / `mosquitto_sub` over TCP, MQTT 3.1.1 and 5: QoS 0/1/2 round trips, a
//! retained message (stored, delivered with RETAIN 1, deleted), a will on a killed client.
//! Subscribers run with `-d` so "received SUBACK" tells when they are ready, and print
//! messages as `MSG|topic|qos|retain|payload` (`-F`).

use tokio::process::Command;

use crate::peer::{Peer, mosquitto, run_ok};
use crate::support::Broker;

const FORMAT: &str = "MSG|%t|%q|%r|%p";

/// `tool` with the broker's TCP address.
fn base(tool: &str, broker: &Broker, version: &str) -> Command {
    mosquitto(tool, "127.0.0.1", broker.tcp.port(), version)
}

/// A subscriber that prints `count` messages then exits; returned once its SUBACK arrived.
async fn subscriber(broker: &Broker, version: &str, id: &str, topics: &[&str], qos: u8) -> Peer {
    let mut c = base("mosquitto_sub", broker, version);
    c.args([
        "-d",
        "-i",
        id,
        "-q",
        &qos.to_string(),
        "-C",
        "1",
        "-F",
        FORMAT,
    ]);
    for t in topics {
        c.args(["-t", t]);
    }
    let mut p = Peer::spawn(id, c);
    p.line_containing("received SUBACK").await;
    p
}

async fn publish(
    broker: &Broker,
    version: &str,
    topic: &str,
    qos: u8,
    payload: Option<&str>,
    retain: bool,
) {
    let mut c = base("mosquitto_pub", broker, version);
    c.args(["-t", topic, "-q", &qos.to_string()]);
    match payload {
        Some(p) => c.args(["-m", p]),
        None => c.arg("-n"),
    };
    if retain {
        c.arg("-r");
    }
    run_ok(&format!("mosquitto_pub {topic}"), c).await;
}

pub async fn qos_round_trip(version: &str) {
    let broker = Broker::target().await;
    for qos in 0..=2u8 {
        let topic = format!("interop/mosq-{version}/q{qos}");
        let mut sub = subscriber(&broker, version, &format!("mosq-sub-{qos}"), &[&topic], 2).await;
        publish(&broker, version, &topic, qos, Some("hello tern"), false).await;
        let line = sub.line_containing("MSG|").await;
        assert_eq!(
            line,
            format!("MSG|{topic}|{qos}|0|hello tern"),
            "QoS {qos} round trip"
        );
        assert!(sub.exit().await.success());
    }
}

pub async fn retained(version: &str) {
    let broker = Broker::target().await;
    let topic = format!("interop/mosq-{version}/r");
    publish(&broker, version, &topic, 1, Some("kept"), true).await;
    let mut sub = subscriber(&broker, version, "mosq-ret", &[&topic], 1).await;
    let line = sub.line_containing("MSG|").await;
    assert_eq!(
        line,
        format!("MSG|{topic}|1|1|kept"),
        "retained message with RETAIN 1"
    );
    assert!(sub.exit().await.success());

    publish(&broker, version, &topic, 1, None, true).await; // -n -r deletes it
    let marker = format!("interop/mosq-{version}/marker");
    let mut sub = subscriber(&broker, version, "mosq-ret2", &[&topic, &marker], 1).await;
    publish(&broker, version, &marker, 1, Some("marker"), false).await;
    let line = sub.line_containing("MSG|").await;
    assert_eq!(
        line,
        format!("MSG|{marker}|1|0|marker"),
        "retained message deleted"
    );
}

pub async fn will(version: &str) {
    let broker = Broker::target().await;
    let will_topic = format!("interop/mosq-{version}/will");
    let mut watcher = subscriber(&broker, version, "mosq-will-watch", &[&will_topic], 1).await;
    let mut c = base("mosquitto_sub", &broker, version);
    c.args([
        "-d",
        "-i",
        "mosq-will-victim",
        "-t",
        "interop/unused",
        "--will-topic",
        &will_topic,
    ]);
    c.args(["--will-payload", "mosquitto died", "--will-qos", "1"]);
    let mut victim = Peer::spawn("mosq-will-victim", c);
    victim.line_containing("received SUBACK").await;
    victim.kill().await;
    let line = watcher.line_containing("MSG|").await;
    assert_eq!(line, format!("MSG|{will_topic}|1|0|mosquitto died"));
}
