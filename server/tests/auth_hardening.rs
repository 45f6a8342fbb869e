//! Authentication hardening (issue "No client can stop or exhaust the broker", item 4):
//! failed logins slow down further attempts from the same address, `/metrics` behind the
//! broker's own credentials (`metrics_auth`), and SIGHUP reloading `password_file` and
//! `acl_file` in the real `tern` binary without dropping connections. The password file is
//! `tests/data/mosquitto_passwd.txt` (alice: `s3cret pass`, bob: `hunter2`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use tern_codec::{Packet, QoS, ReasonCode, Version};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const V5: Version = Version::V5;

fn passwd() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/mosquitto_passwd.txt"
    ))
}

async fn login(
    addr: std::net::SocketAddr,
    id: &str,
    user: &str,
    password: impl AsRef<str>,
) -> ReasonCode {
    let mut conn = connect_packet(V5, id, true);
    conn.username = Some(user.into());
    conn.password = Some(bytes::Bytes::copy_from_slice(password.as_ref().as_bytes()));
    let mut c = Client::tcp(addr, V5).await;
    c.handshake(conn).await.reason
}

/// After failures, attempts from the same address wait their turn (100 ms, then doubling),
/// parallel attempts queue behind each other, and attempts that would wait more than 10 s
/// are refused at once with 0x9F Connection rate exceeded.
#[tokio::test]
async fn failed_logins_slow_down_the_next_attempts() {
    let srv = start_with(|c| c.password_file = Some(passwd())).await;
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
    let srv = start_with(|c| c.password_file = Some(passwd())).await;
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
    let srv = start_with(|c| {
        c.password_file = Some(passwd());
        c.metrics_auth = true;
    })
    .await;
    let get = |auth: Option<&'static str>| async move {
        let mut s = TcpStream::connect(srv.http).await.unwrap();
        let header = auth
            .map(|a| format!("Authorization: Basic {a}\r\n"))
            .unwrap_or_default();
        s.write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{header}\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
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
    std::fs::copy(passwd(), &pw).unwrap();
    std::fs::write(&acl, "user alice\ntopic readwrite #\n").unwrap();
    let mut tern = Tern::spawn(dir.path(), &pw, &acl).await;

    let (mut alice, _) = logged_in(tern.addr, "alice-1", "alice", "s3cret pass").await;
    alice.publish("a/b", b"1", QoS::AtLeastOnce, 1, false).await;
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
    let bob_only: String = std::fs::read_to_string(passwd())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("bob:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&pw, bob_only).unwrap();
    tern.hup_and_wait("password_file and acl_file reloaded")
        .await;

    // Still connected, now under the new ACL.
    alice.publish("a/b", b"2", QoS::AtLeastOnce, 2, false).await;
    assert_eq!(puback_reason(&mut alice).await, ReasonCode::NotAuthorized);
    alice
        .publish("ok/x", b"3", QoS::AtLeastOnce, 3, false)
        .await;
    assert_eq!(
        puback_reason(&mut alice).await,
        ReasonCode::NoMatchingSubscribers
    );
    assert_eq!(
        login(tern.addr, "alice-2", "alice", "s3cret pass").await,
        ReasonCode::BadUserNameOrPassword
    );
    assert_eq!(
        login(tern.addr, "bob-1", "bob", "hunter2").await,
        ReasonCode::Success
    );

    // A broken ACL file: the reload fails, the previous settings stay in force.
    std::fs::write(&acl, "topic bogus x\n").unwrap();
    tern.hup_and_wait("reload failed").await;
    alice
        .publish("ok/y", b"4", QoS::AtLeastOnce, 4, false)
        .await;
    assert_eq!(
        puback_reason(&mut alice).await,
        ReasonCode::NoMatchingSubscribers
    );
    assert_eq!(
        login(tern.addr, "bob-2", "bob", "hunter2").await,
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
    let mut c = Client::tcp(addr, V5).await;
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

/// The `tern` binary with a password and ACL file, its log lines readable.
struct Tern {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    log: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
}

impl Tern {
    async fn spawn(dir: &Path, pw: &Path, acl: &Path) -> Tern {
        let config = dir.join("tern.toml");
        std::fs::write(
            &config,
            format!("password_file = {pw:?}\nacl_file = {acl:?}\nsys_interval = 0\n"),
        )
        .unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the tern binary");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(DEADLINE, out.next_line())
            .await
            .expect("start-up line in time")
            .unwrap()
            .expect("tern printed its address");
        let addr = line
            .strip_prefix("tern: mqtt listening on tcp://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
        let log = BufReader::new(child.stderr.take().unwrap()).lines();
        Tern { child, addr, log }
    }

    /// Sends SIGHUP and waits for the log line containing `needle`.
    async fn hup_and_wait(&mut self, needle: &str) {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(DEADLINE, async {
            while let Some(line) = self.log.next_line().await.unwrap() {
                if line.contains(needle) {
                    return;
                }
            }
            panic!("tern exited before logging {needle:?}");
        })
        .await
        .unwrap_or_else(|_| panic!("no log line {needle:?}"));
    }
}
