//! `password_file` and `acl_file` with Mosquitto's own tools: the password file is made by
//! `mosquitto_passwd` at test time, `mosquitto_pub -u/-P` logs in with the right password
//! and is refused with a wrong one, and a `mosquitto_sub` on a wildcard does not receive a
//! topic the ACL denies it.

use std::process::Stdio;

use tokio::process::Command;

use crate::peer::{Peer, SCRIPT, mosquitto, on_path, run_ok};
use crate::support::Broker;

const ACL: &str = "\
user admin
topic readwrite interop/#

user user
topic readwrite interop/auth/#
topic deny interop/auth/secret
";

fn client(tool: &str, broker: &Broker, version: &str, user: &str, pass: &str) -> Command {
    let mut c = mosquitto(tool, "127.0.0.1", broker.tcp.port(), version);
    c.args(["-u", user, "-P", pass]);
    c
}

async fn publish(broker: &Broker, version: &str, user: &str, pass: &str, topic: &str) {
    let mut c = client("mosquitto_pub", broker, version, user, pass);
    c.args(["-q", "1", "-t", topic, "-m", topic]);
    run_ok(&format!("mosquitto_pub {user} {topic}"), c).await;
}

pub async fn password_and_acl(version: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let passwd = dir.path().join("passwd");
    let mut c = Command::new(on_path("mosquitto_passwd"));
    c.arg("-b").arg("-c").arg(&passwd).args(["user", "pass"]);
    run_ok("mosquitto_passwd -c", c).await;
    let mut c = Command::new(on_path("mosquitto_passwd"));
    c.arg("-b").arg(&passwd).args(["admin", "admin pw"]);
    run_ok("mosquitto_passwd", c).await;
    let acl = dir.path().join("acl");
    std::fs::write(&acl, ACL).expect("write acl");
    let broker = Broker::target_with(|c| {
        c.password_file = Some(passwd);
        c.acl_file = Some(acl);
    })
    .await;

    // Wrong password: refused at CONNECT, non-zero exit, the reason on stderr.
    let mut c = client("mosquitto_pub", &broker, version, "user", "wrong");
    c.args(["-t", "interop/auth/x", "-m", "x"])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(SCRIPT, c.output())
        .await
        .expect("mosquitto_pub did not finish")
        .expect("run mosquitto_pub");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "wrong password accepted: {text}");
    assert!(
        text.to_lowercase().contains("bad user name or password"),
        "{text}"
    );

    // The right password: a subscriber on the whole subtree.
    let mut sub = client("mosquitto_sub", &broker, version, "user", "pass");
    sub.args([
        "-d",
        "-i",
        "auth-sub",
        "-q",
        "1",
        "-C",
        "1",
        "-F",
        "MSG|%t|%p",
    ]);
    sub.args(["-t", "interop/auth/#"]);
    let mut sub = Peer::spawn("auth-sub", sub);
    sub.line_containing("received SUBACK").await;

    // The denied topic first (admin may write it; QoS 1, so it has been routed when
    // mosquitto_pub exits), then an allowed one: the subscriber's only message (`-C 1`)
    // must be the allowed one.
    publish(&broker, version, "admin", "admin pw", "interop/auth/secret").await;
    publish(&broker, version, "user", "pass", "interop/auth/open").await;
    let line = sub.line_containing("MSG|").await;
    assert_eq!(line, "MSG|interop/auth/open|interop/auth/open");
    assert!(sub.exit().await.success());
}
