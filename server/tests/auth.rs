//! `allow_anonymous`, `password_file` and `acl_file` against the real broker over real
//! sockets: CONNACK codes for 3.1.1 and 5.0, and the ACL's write, subscribe and read checks
//! (live, retained, will and `$SYS` messages). The password file is the one written by
//! `mosquitto_passwd` in `tests/data/` (alice: `s3cret pass` as `$7$`, bob: `hunter2` as
//! `$6$`).

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::*;
use tern_codec::{LastWill, Packet, PubResp, QoS, ReasonCode, Subscribe, SubscriptionOptions};
use tern_codec::{Version, WillProperties};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const QUIET: Duration = Duration::from_millis(300);

const ACL: &str = "\
# anonymous clients (allow_anonymous true in some tests)
topic read public/#

user alice
topic readwrite #
topic read $SYS/#

user bob
topic readwrite public/#
topic deny public/secret
topic write will/bob

pattern readwrite devices/%c/#
";

/// A broker with the password file, the ACL above and `allow_anonymous` as given.
async fn secured(allow_anonymous: Option<bool>) -> (Broker, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl");
    std::fs::write(&acl, ACL).unwrap();
    let srv = Broker::with(|c| {
        c.password_file = Some(passwd_file());
        c.acl_file = Some(acl);
        c.allow_anonymous = allow_anonymous;
    })
    .await;
    (srv, dir)
}

async fn login(
    srv: &Broker,
    v: Version,
    id: &str,
    user: Option<&str>,
    pass: Option<&str>,
) -> (Client, tern_codec::ConnAck) {
    let mut c = Client::tcp(srv.tcp, v, id).await;
    let mut p = connect_packet(v, id, true);
    p.username = user.map(Into::into);
    p.password = pass.map(|s| Bytes::copy_from_slice(s.as_bytes()));
    let ack = c.handshake(p).await;
    (c, ack)
}

/// The raw CONNACK bytes a 3.1.1 CONNECT gets, and whether the broker then closed.
async fn raw_v311_connack(srv: &Broker, user: Option<&str>, pass: Option<&str>) -> Vec<u8> {
    let mut p = connect_packet(Version::V3_1_1, "raw", true);
    p.username = user.map(Into::into);
    p.password = pass.map(|s| Bytes::copy_from_slice(s.as_bytes()));
    let mut b = bytes::BytesMut::new();
    tern_codec::encode(&Packet::Connect(Box::new(p)), Version::V3_1_1, &mut b).unwrap();
    let mut s = tokio::net::TcpStream::connect(srv.tcp).await.unwrap();
    s.write_all(&b).await.unwrap();
    let mut out = Vec::new();
    // read_to_end returns only once the broker closed the connection [MQTT-3.2.2-5].
    tokio::time::timeout(DEADLINE, s.read_to_end(&mut out))
        .await
        .expect("broker did not close after a refusing CONNACK")
        .unwrap();
    out
}

#[tokio::test]
async fn v3_1_1_good_credentials_accepted_bad_ones_get_return_code_4_then_close_mqtt_3_2_2_5() {
    let (srv, _d) = secured(None).await;
    let (_a, ack) = login(
        &srv,
        Version::V3_1_1,
        "a",
        Some("alice"),
        Some("s3cret pass"),
    )
    .await;
    assert_eq!(ack.reason, ReasonCode::Success, "$7$ user");
    let (_b, ack) = login(&srv, Version::V3_1_1, "b", Some("bob"), Some("hunter2")).await;
    assert_eq!(ack.reason, ReasonCode::Success, "$6$ user");
    // Session Present 0 and return code 4 [MQTT-3.2.2-4], then the close.
    let refused = [0x20, 0x02, 0x00, 0x04];
    assert_eq!(
        raw_v311_connack(&srv, Some("alice"), Some("wrong")).await,
        refused
    );
    assert_eq!(
        raw_v311_connack(&srv, Some("mallory"), Some("x")).await,
        refused
    );
    assert_eq!(raw_v311_connack(&srv, Some("alice"), None).await, refused);
}

#[tokio::test]
async fn v3_1_1_anonymous_gets_return_code_5_when_a_password_file_is_set() {
    let (srv, _d) = secured(None).await;
    assert_eq!(
        raw_v311_connack(&srv, None, None).await,
        [0x20, 0x02, 0x00, 0x05]
    );
}

#[tokio::test]
async fn v5_bad_credentials_get_0x86_and_anonymous_0x87_then_close_mqtt_3_2_2_7() {
    let (srv, _d) = secured(None).await;
    let (_a, ack) = login(&srv, Version::V5, "a", Some("alice"), Some("s3cret pass")).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    for (user, pass, want) in [
        (
            Some("alice"),
            Some("nope"),
            ReasonCode::BadUserNameOrPassword,
        ),
        (Some("nobody"), Some("x"), ReasonCode::BadUserNameOrPassword),
        (None, Some("hunter2"), ReasonCode::NotAuthorized),
        (None, None, ReasonCode::NotAuthorized),
    ] {
        let (mut c, ack) = login(&srv, Version::V5, "x", user, pass).await;
        assert_eq!(ack.reason, want, "{user:?}");
        assert!(!ack.session_present, "[MQTT-3.2.2-6]");
        assert!(c.expect_closed().await.is_empty(), "[MQTT-3.2.2-7]");
    }
}

#[tokio::test]
async fn allow_anonymous_true_lets_clients_without_user_name_in_but_still_checks_passwords() {
    let (srv, _d) = secured(Some(true)).await;
    let (_c, ack) = login(&srv, Version::V5, "anon", None, None).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    let (_c, ack) = login(&srv, Version::V5, "x", Some("bob"), Some("hunter3")).await;
    assert_eq!(ack.reason, ReasonCode::BadUserNameOrPassword);
}

#[tokio::test]
async fn no_password_file_accepts_anyone_by_default() {
    let srv = Broker::start().await;
    let (_c, ack) = login(&srv, Version::V3_1_1, "x", Some("any"), Some("thing")).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    let srv = Broker::with(|c| c.allow_anonymous = Some(false)).await;
    assert_eq!(
        raw_v311_connack(&srv, None, None).await,
        [0x20, 0x02, 0x00, 0x05]
    );
}

#[tokio::test]
async fn denied_publish_v5_gets_0x87_and_is_not_delivered() {
    let (srv, _d) = secured(None).await;
    let (mut admin, _) = login(&srv, Version::V5, "adm", Some("alice"), Some("s3cret pass")).await;
    admin.subscribe_pid(1, "#", QoS::AtLeastOnce).await;
    let (mut bob, _) = login(&srv, Version::V5, "bob1", Some("bob"), Some("hunter2")).await;

    bob.send_publish("private/x", b"no", QoS::AtLeastOnce, 1, false)
        .await;
    let Packet::PubAck(r) = bob.recv().await else {
        panic!("PUBACK expected")
    };
    assert_eq!(r.reason, ReasonCode::NotAuthorized);
    bob.send_publish("public/secret", b"no", QoS::ExactlyOnce, 2, false)
        .await;
    let Packet::PubRec(r) = bob.recv().await else {
        panic!("PUBREC expected")
    };
    assert_eq!(r.reason, ReasonCode::NotAuthorized);
    bob.send_publish("private/y", b"no", QoS::AtMostOnce, 0, false)
        .await;

    bob.send_publish("public/ok", b"yes", QoS::AtLeastOnce, 3, false)
        .await;
    let Packet::PubAck(r) = bob.recv().await else {
        panic!("PUBACK expected")
    };
    assert_eq!(r.reason, ReasonCode::Success);
    // Same publisher, so order is kept: the first message the admin sees is the allowed one.
    let Packet::Publish(p) = admin.recv().await else {
        panic!("PUBLISH expected")
    };
    assert_eq!(p.topic.as_str(), "public/ok");
}

#[tokio::test]
async fn denied_publish_v3_1_1_is_acknowledged_and_dropped_mqtt_3_3_5_2() {
    let (srv, _d) = secured(None).await;
    let (mut admin, _) = login(&srv, Version::V5, "adm", Some("alice"), Some("s3cret pass")).await;
    admin.subscribe_pid(1, "#", QoS::AtLeastOnce).await;
    let (mut bob, _) = login(&srv, Version::V3_1_1, "bob1", Some("bob"), Some("hunter2")).await;

    bob.send_publish("private/x", b"no", QoS::AtLeastOnce, 1, false)
        .await;
    assert!(matches!(bob.recv().await, Packet::PubAck(r) if r.pid.get() == 1));
    bob.send_publish("private/x", b"no", QoS::ExactlyOnce, 2, false)
        .await;
    assert!(matches!(bob.recv().await, Packet::PubRec(r) if r.pid.get() == 2));
    bob.send(Packet::PubRel(PubResp::new(pid(2)))).await;
    assert!(matches!(bob.recv().await, Packet::PubComp(r) if r.pid.get() == 2));

    bob.send_publish("public/ok", b"yes", QoS::AtMostOnce, 0, false)
        .await;
    let Packet::Publish(p) = admin.recv().await else {
        panic!("PUBLISH expected")
    };
    assert_eq!(p.topic.as_str(), "public/ok");
}

async fn subscribe_two(c: &mut Client, a: &str, b: &str) -> Vec<ReasonCode> {
    c.send(Packet::Subscribe(Subscribe {
        pid: pid(9),
        filters: vec![
            (filter(a), SubscriptionOptions::new(QoS::AtLeastOnce)),
            (filter(b), SubscriptionOptions::new(QoS::AtLeastOnce)),
        ],
        properties: Default::default(),
    }))
    .await;
    match c.recv().await {
        Packet::SubAck(s) => s.reasons,
        other => panic!("SUBACK expected, got {other:?}"),
    }
}

#[tokio::test]
async fn denied_subscription_gets_0x87_in_v5_and_0x80_in_v3_1_1_per_filter_mqtt_3_9_3_1() {
    let (srv, _d) = secured(None).await;
    let (mut v5, _) = login(&srv, Version::V5, "b5", Some("bob"), Some("hunter2")).await;
    assert_eq!(
        subscribe_two(&mut v5, "private/#", "public/+").await,
        [ReasonCode::NotAuthorized, ReasonCode::GrantedQoS1]
    );
    let (mut v3, _) = login(&srv, Version::V3_1_1, "b3", Some("bob"), Some("hunter2")).await;
    // 0x80 on the wire, decoded as UnspecifiedError.
    assert_eq!(
        subscribe_two(&mut v3, "public/#", "public/secret").await,
        [ReasonCode::GrantedQoS1, ReasonCode::UnspecifiedError]
    );
    // A subscription to `$SYS/#` needs an entry starting with `$` [MQTT-4.7.2-1].
    assert_eq!(
        subscribe_two(&mut v5, "$SYS/#", "#").await,
        [ReasonCode::NotAuthorized, ReasonCode::GrantedQoS1]
    );
}

#[tokio::test]
async fn subscriber_to_hash_only_receives_readable_topics_live_and_retained() {
    let (srv, _d) = secured(None).await;
    let (mut admin, _) = login(&srv, Version::V5, "adm", Some("alice"), Some("s3cret pass")).await;
    admin
        .send_publish("private/r", b"hidden", QoS::AtLeastOnce, 1, true)
        .await;
    admin.recv().await;
    admin
        .send_publish("public/secret", b"hidden", QoS::AtLeastOnce, 2, true)
        .await;
    admin.recv().await;
    admin
        .send_publish("public/r", b"shown", QoS::AtLeastOnce, 3, true)
        .await;
    admin.recv().await;

    let (mut bob, _) = login(&srv, Version::V5, "bob1", Some("bob"), Some("hunter2")).await;
    let Packet::SubAck(s) = bob.subscribe_pid(1, "#", QoS::AtMostOnce).await else {
        panic!()
    };
    assert_eq!(s.reasons, [ReasonCode::Success]);
    let Packet::Publish(p) = bob.recv().await else {
        panic!("retained PUBLISH expected")
    };
    assert_eq!((p.topic.as_str(), p.retain), ("public/r", true));
    bob.expect_quiet(QUIET).await;

    for t in ["private/live", "public/secret", "public/live"] {
        admin
            .send_publish(t, t.as_bytes(), QoS::AtMostOnce, 0, false)
            .await;
    }
    let Packet::Publish(p) = bob.recv().await else {
        panic!("PUBLISH expected")
    };
    assert_eq!(p.topic.as_str(), "public/live");
    bob.expect_quiet(QUIET).await;
}

fn will(on: &str) -> Option<LastWill> {
    Some(LastWill {
        topic: topic(on),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: WillProperties::default().into(),
    })
}

#[tokio::test]
async fn will_needs_write_access_of_the_connecting_client() {
    let (srv, _d) = secured(None).await;
    let (mut admin, _) = login(&srv, Version::V5, "adm", Some("alice"), Some("s3cret pass")).await;
    admin.subscribe_pid(1, "will/#", QoS::AtMostOnce).await;

    for v in [Version::V5, Version::V3_1_1] {
        let mut c = Client::tcp(srv.tcp, v, "bw").await;
        let mut p = connect_packet(v, "bw", true);
        p.username = Some("bob".into());
        p.password = Some(Bytes::from_static(b"hunter2"));
        p.will = will("will/alice");
        let ack = c.handshake(p).await;
        assert_eq!(ack.reason, ReasonCode::NotAuthorized, "{v}");
        assert!(c.expect_closed().await.is_empty());
    }

    let mut c = Client::tcp(srv.tcp, Version::V5, "bw").await;
    let mut p = connect_packet(Version::V5, "bw", true);
    p.username = Some("bob".into());
    p.password = Some(Bytes::from_static(b"hunter2"));
    p.will = will("will/bob");
    assert_eq!(c.handshake(p).await.reason, ReasonCode::Success);
    drop(c); // no DISCONNECT: the will goes out [MQTT-3.1.2-8]
    let Packet::Publish(p) = admin.recv().await else {
        panic!("will expected")
    };
    assert_eq!(p.topic.as_str(), "will/bob");
}

#[tokio::test]
async fn sys_topics_follow_the_acl() {
    let (srv, _d) = secured(None).await;
    let (mut admin, _) = login(&srv, Version::V5, "adm", Some("alice"), Some("s3cret pass")).await;
    let Packet::SubAck(s) = admin
        .subscribe_pid(1, "$SYS/broker/uptime", QoS::AtMostOnce)
        .await
    else {
        panic!()
    };
    assert_eq!(s.reasons, [ReasonCode::Success]);
    // sys_interval is 1 s in the tests.
    let Packet::Publish(p) = admin.recv().await else {
        panic!("$SYS update expected")
    };
    assert_eq!(p.topic.as_str(), "$SYS/broker/uptime");

    // `topic readwrite #` alone does not reach `$SYS` (alice has an extra `$SYS/#` line);
    // an anonymous-section `#`-style grant likewise stays out of it.
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "topic readwrite #\n").unwrap();
    let srv = Broker::with(|c| c.acl_file = Some(acl)).await;
    let (mut anon, _) = login(&srv, Version::V5, "anon", None, None).await;
    let Packet::SubAck(s) = anon.subscribe_pid(1, "$SYS/#", QoS::AtMostOnce).await else {
        panic!()
    };
    assert_eq!(s.reasons, [ReasonCode::NotAuthorized]);
}

#[tokio::test]
async fn pattern_grants_the_client_its_own_subtree() {
    let (srv, _d) = secured(None).await;
    let (mut dev, _) = login(&srv, Version::V5, "dev1", Some("bob"), Some("hunter2")).await;
    dev.send_publish("devices/dev1/state", b"on", QoS::AtLeastOnce, 1, false)
        .await;
    let Packet::PubAck(r) = dev.recv().await else {
        panic!()
    };
    assert_ne!(r.reason, ReasonCode::NotAuthorized);
    dev.send_publish("devices/dev2/state", b"on", QoS::AtLeastOnce, 2, false)
        .await;
    let Packet::PubAck(r) = dev.recv().await else {
        panic!()
    };
    assert_eq!(r.reason, ReasonCode::NotAuthorized);
}

#[tokio::test]
async fn invalid_security_files_stop_the_broker_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("passwd");
    std::fs::write(&pw, "# users\nalice:plaintext\n").unwrap();
    let mut config = tern_server::Config {
        password_file: Some(pw.clone()),
        ..test_config()
    };
    let err = tern_server::Server::bind(config.clone())
        .await
        .err()
        .expect("bind must fail")
        .to_string();
    assert!(
        err.contains(pw.to_str().unwrap()) && err.contains("line 2"),
        "{err}"
    );
    assert!(
        !err.contains("plaintext"),
        "the password must not be echoed: {err}"
    );

    config.password_file = None;
    config.acl_file = Some(dir.path().join("missing"));
    let err = tern_server::Server::bind(config)
        .await
        .err()
        .expect("bind must fail");
    assert!(err.to_string().contains("acl_file"), "{err}");
}
