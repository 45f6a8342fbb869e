//! The admin API (`/api/v1/...`) against the real broker over real sockets: who may use it
//! (loopback without a password file, `admin_users` with one, nobody from elsewhere without
//! one), the listings with paging, and the actions reaching the client (v5 DISCONNECT 0x98,
//! a discarded session, a cleared retained message).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use support::*;
use tern_codec::{Packet, QoS, ReasonCode, Version};

const V5: Version = Version::V5;
const V311: Version = Version::V3_1_1;

async fn get_json(addr: SocketAddr, path: &str, basic: Option<&str>) -> Value {
    let r = http::request(addr, "GET", path, basic).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body))
}

/// Percent-encodes a cursor for a query string.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn listings_page_through_clients_sessions_subscriptions_and_retained() {
    let srv = Broker::start().await;
    let mut clients = Vec::new();
    for i in 0..25 {
        let (mut c, _) =
            Client::connect(srv.tcp, V311, &format!("student-{i:02}"), i % 2 == 0).await;
        c.subscribe_pid(1, &format!("class/{i}/#"), QoS::AtLeastOnce)
            .await;
        clients.push(c);
    }
    // An offline persistent session.
    drop(clients.remove(1));
    let (mut p, _) = Client::connect(srv.tcp, V5, "teacher", true).await;
    p.send_publish("class/board", b"hello", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));

    let page1 = get_json(
        srv.http,
        "/api/v1/clients?client_id=student-&limit=10",
        None,
    )
    .await;
    assert_eq!(ids(&page1, "client_id").len(), 10);
    assert_eq!(page1["items"][0]["client_id"], "student-00");
    assert_eq!(page1["items"][0]["protocol"], "3.1.1");
    assert_eq!(page1["items"][0]["transport"], "tcp");
    assert_eq!(page1["items"][0]["subscriptions"], 1);
    assert!(page1["items"][0]["messages_in"].as_u64().unwrap() >= 2);
    let mut all = ids(&page1, "client_id");
    let mut next = page1["next"].as_str().map(str::to_owned);
    while let Some(after) = next {
        let p = get_json(
            srv.http,
            &format!(
                "/api/v1/clients?client_id=student-&limit=10&after={}",
                enc(&after)
            ),
            None,
        )
        .await;
        all.extend(ids(&p, "client_id"));
        next = p["next"].as_str().map(str::to_owned);
    }
    assert_eq!(all.len(), 24, "connected students only: {all:?}");
    assert!(!all.contains(&"student-01".to_owned()));

    let sessions = get_json(srv.http, "/api/v1/sessions?client_id=student-0", None).await;
    let s01 = &sessions["items"][1];
    assert_eq!(
        (s01["client_id"].as_str(), s01["connected"].as_bool()),
        (Some("student-01"), Some(false))
    );
    let subs = get_json(
        srv.http,
        "/api/v1/subscriptions?client_id=student-1&limit=3",
        None,
    )
    .await;
    assert_eq!(
        ids(&subs, "filter"),
        vec!["class/10/#", "class/11/#", "class/12/#"]
    );
    assert_eq!(subs["items"][0]["qos"], 1);
    let after = subs["next"].as_str().unwrap();
    let rest = get_json(
        srv.http,
        &format!(
            "/api/v1/subscriptions?client_id=student-1&after={}",
            enc(after)
        ),
        None,
    )
    .await;
    assert_eq!(ids(&rest, "filter").len(), 7);
    let retained = get_json(srv.http, "/api/v1/retained?prefix=class/", None).await;
    assert_eq!(retained["items"][0]["topic"], "class/board");
    assert_eq!(retained["items"][0]["payload"], "hello");
}

#[tokio::test]
async fn kick_discard_and_clear_reach_the_clients() {
    let srv = Broker::start().await;
    let (mut v5, _) = Client::connect(srv.tcp, V5, "noisy", true).await;
    assert_eq!(
        http::request(srv.http, "DELETE", "/api/v1/clients/noisy", None)
            .await
            .status,
        204
    );
    let got = v5.expect_closed().await;
    assert!(
        matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::AdministrativeAction),
        "[MQTT-3.14] v5 DISCONNECT 0x98, got {got:?}"
    );
    assert_eq!(
        http::request(srv.http, "DELETE", "/api/v1/clients/noisy", None)
            .await
            .status,
        404
    );

    // A persistent session kicked keeps its session; discarded, it is gone.
    let (c, _) = Client::connect(srv.tcp, V311, "keeper", false).await;
    assert_eq!(
        http::request(srv.http, "DELETE", "/api/v1/clients/keeper", None)
            .await
            .status,
        204
    );
    drop(c);
    let (c, ack) = Client::connect(srv.tcp, V311, "keeper", false).await;
    assert!(ack.session_present);
    assert_eq!(
        http::request(srv.http, "DELETE", "/api/v1/sessions/keeper", None)
            .await
            .status,
        204
    );
    let mut c = c;
    assert!(c.expect_closed().await.is_empty(), "3.1.1: closed");
    let (_c, ack) = Client::connect(srv.tcp, V311, "keeper", false).await;
    assert!(!ack.session_present, "session discarded");

    let (mut p, _) = Client::connect(srv.tcp, V5, "pub", true).await;
    p.send_publish("board/today", b"quiz", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    assert_eq!(
        http::request(srv.http, "DELETE", "/api/v1/retained/board/today", None)
            .await
            .status,
        204
    );
    let (mut s, _) = Client::connect(srv.tcp, V5, "late", true).await;
    s.subscribe_pid(1, "board/#", QoS::AtLeastOnce).await;
    s.expect_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn admin_users_only_with_a_password_file() {
    let srv = Broker::with(|c| {
        c.password_file = Some(passwd_file());
        c.admin_users = vec!["bob".into()];
    })
    .await;
    assert_eq!(
        http::request(srv.http, "GET", "/api/v1/clients", None)
            .await
            .status,
        401
    );
    // alice:s3cret pass is a valid user but no admin; bob:hunter2 is.
    let alice = "YWxpY2U6czNjcmV0IHBhc3M=";
    let bob = "Ym9iOmh1bnRlcjI=";
    assert_eq!(
        http::request(srv.http, "GET", "/api/v1/clients", Some(alice))
            .await
            .status,
        403
    );
    assert_eq!(
        http::request(srv.http, "GET", "/api/v1/clients", Some(bob))
            .await
            .status,
        200
    );
    assert_eq!(
        http::request(srv.http, "DELETE", "/api/v1/clients/x", Some(alice))
            .await
            .status,
        403
    );
}

/// Without a password file, a client from another address (here: this machine's
/// non-loopback address) is refused; `admin_api = false` removes the routes.
#[tokio::test]
async fn open_broker_answers_loopback_only_and_can_be_switched_off() {
    let Some(ip) = non_loopback_ip() else {
        panic!("this test needs a non-loopback IPv4 address (`hostname -I`)");
    };
    let srv = Broker::with(|c| c.http = SocketAddr::new([0, 0, 0, 0].into(), 0)).await;
    let port = srv.http.port();
    assert_eq!(
        http::request(
            SocketAddr::new([127, 0, 0, 1].into(), port),
            "GET",
            "/api/v1/sessions",
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        http::request(SocketAddr::new(ip, port), "GET", "/api/v1/sessions", None)
            .await
            .status,
        403
    );
    let off = Broker::with(|c| c.admin_api = false).await;
    assert_eq!(
        http::request(off.http, "GET", "/api/v1/sessions", None)
            .await
            .status,
        404
    );
}

fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse::<std::net::IpAddr>().ok())
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
}
