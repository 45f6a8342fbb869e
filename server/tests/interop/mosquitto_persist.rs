//! Persistence with real clients: `mosquitto_sub -c` (a persistent session, clean session 0
//! / session expiry > 0) subscribes and goes away, `mosquitto_pub` publishes while it is
//! offline, tern is shut down gracefully and started again on the same persistence
//! directory, and the reconnecting `mosquitto_sub -c` receives what was queued, in order.

use tokio::process::Command;

use crate::peer::{mosquitto, run_ok};
use crate::support::{Broker, tern_only};

fn base(tool: &str, broker: &Broker, version: &str) -> Command {
    mosquitto(tool, "127.0.0.1", broker.tcp.port(), version)
}

/// `mosquitto_sub -c -i ID -q 1` (with `-x` session expiry in MQTT 5) and extra arguments.
fn durable_sub(broker: &Broker, version: &str, id: &str, extra: &[&str]) -> Command {
    let mut c = base("mosquitto_sub", broker, version);
    c.args(["-c", "-i", id, "-q", "1", "-t", "interop/persist/#"]);
    if version == "mqttv5" {
        c.args(["-x", "3600"]);
    }
    c.args(extra);
    c
}

pub async fn queued_messages_survive_restart(version: &str) {
    if tern_only("tern persistence restart") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let id = format!("mosq-durable-{version}");
    let broker = Broker::persistent(dir.path()).await;
    // -E: exit as soon as the subscription is acknowledged; the session stays.
    run_ok(
        "mosquitto_sub -c -E",
        durable_sub(&broker, version, &id, &["-E"]),
    )
    .await;
    for payload in ["first", "second", "third"] {
        let mut c = base("mosquitto_pub", &broker, version);
        c.args(["-t", "interop/persist/t", "-q", "1", "-m", payload]);
        run_ok("mosquitto_pub", c).await;
    }
    broker
        .shutdown()
        .await
        .expect("graceful shutdown saves the state");

    let broker = Broker::persistent(dir.path()).await;
    let out = run_ok(
        "mosquitto_sub -c after restart",
        durable_sub(
            &broker,
            version,
            &id,
            &["-C", "3", "-W", "10", "-F", "MSG|%t|%q|%p"],
        ),
    )
    .await;
    let got: Vec<&str> = out.lines().filter(|l| l.starts_with("MSG|")).collect();
    assert_eq!(
        got,
        [
            "MSG|interop/persist/t|1|first",
            "MSG|interop/persist/t|1|second",
            "MSG|interop/persist/t|1|third",
        ],
        "queued messages after a restart, in order; output {out}"
    );
}
