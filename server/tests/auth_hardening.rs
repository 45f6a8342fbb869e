//! Authentication hardening (issue "No client can stop or exhaust the broker", item 4):
//! failed logins slow down further attempts from the same address, `/metrics` behind the
//! broker's own credentials (`metrics_auth`), and SIGHUP reloading `password_file` and
//! `acl_file` in the real `tern` binary without dropping connections. The password file is
//! `tests/data/mosquitto_passwd.txt` (alice: `s3cret pass`, bob: `hunter2`).

mod support;

use std::time::{Duration, Instant};

use support::*;
use tern_codec::{Packet, QoS, ReasonCode, Version};

const V5: Version = Version::V5;

async fn login(
    addr: std::net::SocketAddr,
    id: &str,
    user: &str,
    password: impl AsRef<str>,
) -> ReasonCode {
    let mut conn = connect_packet(V5, id, true);
    conn.username = Some(user.into());
    conn.password = Some(bytes::Bytes::copy_from_slice(password.as_ref().as_bytes()));
    let mut c = Client::tcp(addr, V5, "c").await;
    c.handshake(conn).await.reason
}

/// After failures, attempts from the same address wait their turn (100 ms, then doubling),
/// parallel attempts queue behind each other, and attempts that would wait more than 10 s
/// are refused at once with 0x9F Connection rate exceeded.
#[tokio::test]
async fn failed_logins_slow_down_the_next_attempts() {
    let srv = Broker::with(|c| c.password_file = Some(passwd_file())).await;
    let bad = ReasonCode::BadUserNameOrPassword;
    assert_eq!(login(srv.tcp, "g1", "alice", "guess1").await, bad);
    let t = Instant::now();
    assert_eq!(login(srv.tcp, "g2", "alice", "guess2").await, bad);
    assert_eq!(login(srv.tcp, "g3", "nobody", "guess3").await, bad);
    // Turns 100 ms and then 200 ms apart after one and two failures.
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // 150 attempts at once: those beyond 10 s of queue are refused without a check, at once.
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..150 {
        attempts.spawn(login(srv.tcp, "", "alice", format!("p{i}")));
    }
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(r) = attempts.join_next().await {
            if r.unwrap() == ReasonCode::ConnectionRateExceeded {
                return;
            }
        }
        panic!("no attempt was refused");
    })
    .await
    .expect("refusals arrive before the queued guesses are checked");
}

/// A success forgets the address's failures.
#[tokio::test]
async fn a_successful_login_resets_the_delay() {
    let srv = Broker::with(|c| c.password_file = Some(passwd_file())).await;
    assert_eq!(
        login(srv.tcp, "a", "bob", "nope").await,
        ReasonCode::BadUserNameOrPassword
    );
    assert_eq!(
        login(srv.tcp, "b", "bob", "hunter2").await,
        ReasonCode::Success
    );
    let t = Instant::now();
    assert_eq!(
        login(srv.tcp, "c", "bob", "hunter2").await,
        ReasonCode::Success
    );
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "no wait after a success"
    );
}

/// `GET /metrics` with `metrics_auth = true`: 401 with a Basic challenge without or with
/// wrong credentials, 200 with a user of the password file.
#[tokio::test]
async fn metrics_auth_requires_broker_credentials() {
    let srv = Broker::with(|c| {
        c.password_file = Some(passwd_file());
        c.metrics_auth = true;
    })
    .await;
    let get = |auth: Option<&'static str>| async move {
        http::request(srv.http, "GET", "/metrics", auth).await.raw
    };
    let none = get(None).await;
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    assert!(
        none.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{none}"
    );
    // "alice:wrong" and "bob:hunter2" in base64.
    assert!(
        get(Some("YWxpY2U6d3Jvbmc="))
            .await
            .starts_with("HTTP/1.1 401")
    );
    let ok = get(Some("Ym9iOmh1bnRlcjI=")).await;
    assert!(
        ok.starts_with("HTTP/1.1 200") && ok.contains("tern_clients_connected"),
        "{ok}"
    );
}

/// The real binary: SIGHUP reloads the password and ACL files; connected clients stay
/// connected and get the new ACL; a broken file is refused and the old settings stay.
#[tokio::test]
async fn sighup_reloads_password_and_acl_files_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (pw, acl) = (dir.path().join("pw"), dir.path().join("acl"));
    std::fs::copy(passwd_file(), &pw).unwrap();
    std::fs::write(&acl, "user alice\ntopic readwrite #\n").unwrap();
    let config = dir.path().join("tern.toml");
    std::fs::write(
        &config,
        format!("password_file = {pw:?}\nacl_file = {acl:?}\nsys_interval = 0\n"),
    )
    .unwrap();
    let mut cmd = TernProcess::command();
    cmd.arg("--config").arg(&config).env("RUST_LOG", "info");
    let mut tern = TernProcess::spawn(cmd).await;

    let (mut alice, _) = logged_in(tern.tcp, "alice-1", "alice", "s3cret pass").await;
    alice
        .send_publish("a/b", b"1", QoS::AtLeastOnce, 1, false)
        .await;
    assert_eq!(
        puback_reason(&mut alice).await,
        ReasonCode::NoMatchingSubscribers
    );

    // New ACL: alice may only write `ok/#`; bob appears in a new password file without alice.
    std::fs::write(
        &acl,
        "user alice\ntopic write ok/#\nuser bob\ntopic readwrite #\n",
    )
    .unwrap();
    let bob_only: String = std::fs::read_to_string(passwd_file())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("bob:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&pw, bob_only).unwrap();
    tern.signal("HUP");
    tern.log_line("password_file and acl_file reloaded").await;

    // Still connected, now under the new ACL.
    alice
        .send_publish("a/b", b"2", QoS::AtLeastOnce, 2, false)
        .await;
    assert_eq!(puback_reason(&mut alice).await, ReasonCode::NotAuthorized);
    alice
        .send_publish("ok/x", b"3", QoS::AtLeastOnce, 3, false)
        .await;
    assert_eq!(
        puback_reason(&mut alice).await,
        ReasonCode::NoMatchingSubscribers
    );
    assert_eq!(
        login(tern.tcp, "alice-2", "alice", "s3cret pass").await,
        ReasonCode::BadUserNameOrPassword
    );
    assert_eq!(
        login(tern.tcp, "bob-1", "bob", "hunter2").await,
        ReasonCode::Success
    );

    // A broken ACL file: the reload fails, the previous settings stay in force.
    std::fs::write(&acl, "topic bogus x\n").unwrap();
    tern.signal("HUP");
    tern.log_line("reload failed").await;
    alice
        .send_publish("ok/y", b"4", QoS::AtLeastOnce, 4, false)
        .await;
    assert_eq!(
        puback_reason(&mut alice).await,
        ReasonCode::NoMatchingSubscribers
    );
    assert_eq!(
        login(tern.tcp, "bob-2", "bob", "hunter2").await,
        ReasonCode::Success
    );
}

async fn logged_in(
    addr: std::net::SocketAddr,
    id: &str,
    user: &str,
    pw: &str,
) -> (Client, ReasonCode) {
    let mut conn = connect_packet(V5, id, true);
    conn.username = Some(user.into());
    conn.password = Some(bytes::Bytes::copy_from_slice(pw.as_bytes()));
    let mut c = Client::tcp(addr, V5, "c").await;
    let reason = c.handshake(conn).await.reason;
    assert_eq!(reason, ReasonCode::Success);
    (c, reason)
}

async fn puback_reason(c: &mut Client) -> ReasonCode {
    match c.recv().await {
        Packet::PubAck(a) => a.reason,
        other => panic!("expected PUBACK, got {other:?}"),
    }
}
