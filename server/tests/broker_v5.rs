//! MQTT 5 specifics end to end: expiry, will delay, flow control, aliases, packet size,
//! subscription options, shared subscriptions, property pass-through, and bounded queues.

mod support;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::*;
use tern_codec::{
    LastWill, Packet, PubResp, Publish, PublishProperties, QoS, QosPid, ReasonCode, RetainHandling,
    Subscribe, SubscribeProperties, SubscriptionOptions, Version, WillProperties,
};

const V5: Version = Version::V5;

async fn sub_opts(c: &mut Client, f: &str, o: SubscriptionOptions, id: Option<u32>) {
    c.send(Packet::Subscribe(Subscribe {
        pid: pid(1),
        filters: vec![(filter(f), o)],
        properties: SubscribeProperties {
            subscription_identifier: id.and_then(NonZeroU32::new),
            user_properties: Vec::new(),
        }
        .into(),
    }))
    .await;
    assert!(matches!(c.recv().await, Packet::SubAck(_)));
}

#[tokio::test]
async fn session_expiry_interval_mqtt_3_1_2_11() {
    let srv = Broker::start().await;
    let mut conn = connect_packet(V5, "exp", false);
    conn.properties.session_expiry_interval = Some(1);
    let mut c = Client::tcp(srv.tcp, V5, "exp").await;
    c.handshake(conn.clone()).await;
    drop(c);
    // Within the interval the session is still there.
    let mut c = Client::tcp(srv.tcp, V5, "exp").await;
    assert!(c.handshake(conn.clone()).await.session_present);
    drop(c);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut c = Client::tcp(srv.tcp, V5, "c").await;
    assert!(
        !c.handshake(conn).await.session_present,
        "expired after 1 s"
    );
}

#[tokio::test]
async fn will_delay_interval_delays_the_will_mqtt_3_1_3_9() {
    let srv = Broker::start().await;
    let (mut watch, _) = Client::connect(srv.tcp, V5, "watch", true).await;
    watch.subscribe_pid(1, "wd/#", QoS::AtMostOnce).await;
    let mut conn = connect_packet(V5, "wd", false);
    conn.properties.session_expiry_interval = Some(30);
    conn.will = Some(LastWill {
        topic: topic("wd/x"),
        payload: Bytes::from_static(b"late"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: Some(1),
            ..Default::default()
        }
        .into(),
    });
    let mut c = Client::tcp(srv.tcp, V5, "c").await;
    c.handshake(conn).await;
    let dropped = Instant::now();
    drop(c);
    let p = watch.recv_publish().await;
    assert_eq!(p.payload, Bytes::from_static(b"late"));
    assert!(
        dropped.elapsed() >= Duration::from_millis(900),
        "sent too early"
    );
}

#[tokio::test]
async fn outgoing_window_respects_client_receive_maximum_mqtt_3_3_4_9() {
    let srv = Broker::start().await;
    let mut conn = connect_packet(V5, "slow", true);
    conn.properties.receive_maximum = Some(1);
    let mut s = Client::tcp(srv.tcp, V5, "slow").await;
    s.handshake(conn).await;
    s.subscribe_pid(1, "rm", QoS::AtLeastOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    for i in 1..=3u16 {
        p.send_publish("rm", &[i as u8], QoS::AtLeastOnce, i, false)
            .await;
        assert!(matches!(p.recv().await, Packet::PubAck(_)));
    }
    for i in 1..=3u8 {
        let m = s.recv_publish().await;
        assert_eq!(m.payload[0], i);
        // Nothing else while this one is unacknowledged.
        s.expect_quiet(Duration::from_millis(150)).await;
        s.send(Packet::PubAck(PubResp::new(m.qos_pid.pid().unwrap())))
            .await;
    }
}

#[tokio::test]
async fn incoming_receive_maximum_exceeded_disconnects_0x93_mqtt_3_3_4_7() {
    let srv = Broker::with(|c| c.max_inflight_messages = 2).await;
    let (mut c, ack) = Client::connect(srv.tcp, V5, "flood", true).await;
    assert_eq!(ack.properties.receive_maximum, Some(2));
    for i in 1..=3 {
        c.send_publish("f", b"x", QoS::ExactlyOnce, i, false).await;
    }
    let got = c.expect_closed().await;
    assert!(
        matches!(got.last(), Some(Packet::Disconnect(d)) if d.reason == ReasonCode::ReceiveMaximumExceeded),
        "{got:?}"
    );
}

#[tokio::test]
async fn never_sends_more_than_client_maximum_packet_size_mqtt_3_1_2_24() {
    let srv = Broker::start().await;
    let mut conn = connect_packet(V5, "small", true);
    conn.properties.maximum_packet_size = Some(64);
    let mut s = Client::tcp(srv.tcp, V5, "small").await;
    s.handshake(conn).await;
    s.subscribe_pid(1, "mp", QoS::AtMostOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    p.send_publish("mp", &[7u8; 200], QoS::AtMostOnce, 0, false)
        .await;
    p.send_publish("mp", b"fits", QoS::AtMostOnce, 0, false)
        .await;
    let m = s.recv_publish().await;
    assert_eq!(
        m.payload,
        Bytes::from_static(b"fits"),
        "large one discarded [MQTT-3.1.2-25]"
    );
}

#[tokio::test]
async fn no_local_retain_as_published_and_retain_handling_mqtt_3_8_3() {
    let srv = Broker::start().await;
    let (mut c, _) = Client::connect(srv.tcp, V5, "self", true).await;
    let nl = SubscriptionOptions {
        no_local: true,
        ..SubscriptionOptions::new(QoS::AtMostOnce)
    };
    sub_opts(&mut c, "nl", nl, None).await;
    c.send_publish("nl", b"mine", QoS::AtMostOnce, 0, false)
        .await;
    c.expect_quiet(Duration::from_millis(200)).await;

    // Retain As Published keeps RETAIN 1 on live messages.
    let rap = SubscriptionOptions {
        retain_as_published: true,
        ..SubscriptionOptions::new(QoS::AtMostOnce)
    };
    let (mut s, _) = Client::connect(srv.tcp, V5, "rap", true).await;
    sub_opts(&mut s, "rap/+", rap, None).await;
    c.send_publish("rap/1", b"r", QoS::AtMostOnce, 0, true)
        .await;
    assert!(s.recv_publish().await.retain, "[MQTT-3.3.1-12]");

    // Retain Handling 1: only for a new subscription; 2: never.
    let rh1 = SubscriptionOptions {
        retain_handling: RetainHandling::SendIfNewSubscription,
        ..SubscriptionOptions::new(QoS::AtMostOnce)
    };
    let (mut h, _) = Client::connect(srv.tcp, V5, "rh", true).await;
    sub_opts(&mut h, "rap/#", rh1, None).await;
    assert!(h.recv_publish().await.retain);
    sub_opts(&mut h, "rap/#", rh1, None).await;
    h.expect_quiet(Duration::from_millis(200)).await;
    let rh2 = SubscriptionOptions {
        retain_handling: RetainHandling::DoNotSend,
        ..SubscriptionOptions::new(QoS::AtMostOnce)
    };
    sub_opts(&mut h, "rap/1", rh2, None).await;
    h.expect_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn overlapping_subscriptions_one_copy_with_all_identifiers_mqtt_3_3_4_3() {
    let srv = Broker::start().await;
    let (mut s, _) = Client::connect(srv.tcp, V5, "ids", true).await;
    sub_opts(
        &mut s,
        "o/+",
        SubscriptionOptions::new(QoS::AtMostOnce),
        Some(3),
    )
    .await;
    sub_opts(
        &mut s,
        "o/#",
        SubscriptionOptions::new(QoS::AtLeastOnce),
        Some(9),
    )
    .await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    p.send_publish("o/x", b"m", QoS::AtLeastOnce, 1, false)
        .await;
    let m = s.recv_publish().await;
    assert_eq!(
        m.qos_pid.qos(),
        QoS::AtLeastOnce,
        "maximum QoS of the matches"
    );
    let mut ids: Vec<u32> = m
        .properties
        .subscription_identifiers
        .iter()
        .map(|i| i.get())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![3, 9]);
    s.send(Packet::PubAck(PubResp::new(m.qos_pid.pid().unwrap())))
        .await;
    s.expect_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn shared_subscription_round_robin_mqtt_4_8_2() {
    let srv = Broker::start().await;
    let (mut a, _) = Client::connect(srv.tcp, V5, "a", true).await;
    let (mut b, _) = Client::connect(srv.tcp, V5, "b", true).await;
    a.subscribe_pid(1, "$share/g/job", QoS::AtMostOnce).await;
    b.subscribe_pid(1, "$share/g/job", QoS::AtMostOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    for i in 0..4u8 {
        p.send_publish("job", &[i], QoS::AtMostOnce, 0, false).await;
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(a.recv_publish().await.payload[0]);
        got.push(b.recv_publish().await.payload[0]);
    }
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, 2, 3], "each message to exactly one member");
    a.expect_quiet(Duration::from_millis(150)).await;
    b.expect_quiet(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn properties_pass_through_and_expiry_counts_down_mqtt_3_3_2() {
    let srv = Broker::start().await;
    let (mut s, _) = Client::connect(srv.tcp, V5, "s", true).await;
    s.subscribe_pid(1, "pp", QoS::AtMostOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    let props = PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(100),
        response_topic: Some(topic("reply/here")),
        correlation_data: Some(Bytes::from_static(b"corr")),
        user_properties: vec![("k".into(), "v".into()), ("k".into(), "w".into())],
        content_type: Some("text/plain".into()),
        ..Default::default()
    };
    p.send(Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: topic("pp"),
        payload: Bytes::from_static(b"hi"),
        properties: props.clone().into(),
    }))
    .await;
    let m = s.recv_publish().await;
    assert_eq!(
        m.properties.user_properties, props.user_properties,
        "[MQTT-3.3.2-17]"
    );
    assert_eq!(m.properties.correlation_data, props.correlation_data);
    assert_eq!(m.properties.response_topic, props.response_topic);
    assert_eq!(m.properties.content_type, props.content_type);
    assert_eq!(m.properties.payload_format_indicator, Some(true));
    let left = m.properties.message_expiry_interval.unwrap();
    assert!((99..=100).contains(&left), "{left}");
}

#[tokio::test]
async fn expired_message_not_delivered_to_offline_session_mqtt_3_3_2_5() {
    let srv = Broker::start().await;
    let mut conn = connect_packet(V5, "off", false);
    conn.properties.session_expiry_interval = Some(60);
    let mut s = Client::tcp(srv.tcp, V5, "off").await;
    s.handshake(conn.clone()).await;
    s.subscribe_pid(1, "ex", QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    let mut short = PublishProperties {
        message_expiry_interval: Some(1),
        ..Default::default()
    };
    for (i, payload) in [(1u16, b"short"), (2, b"long!")] {
        p.send(Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::AtLeastOnce(pid(i)),
            retain: false,
            topic: topic("ex"),
            payload: Bytes::from_static(payload),
            properties: short.clone().into(),
        }))
        .await;
        assert!(matches!(p.recv().await, Packet::PubAck(_)));
        short.message_expiry_interval = Some(60);
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut s = Client::tcp(srv.tcp, V5, "s").await;
    assert!(s.handshake(conn).await.session_present);
    let m = s.recv_publish().await;
    assert_eq!(m.payload, Bytes::from_static(b"long!"));
}

#[tokio::test]
async fn server_keep_alive_caps_client_value_mqtt_3_2_2_21() {
    let srv = Broker::with(|c| c.max_keepalive = 10).await;
    let (_c, ack) = Client::connect(srv.tcp, V5, "ka", true).await;
    assert_eq!(ack.properties.server_keep_alive, Some(10));
    let (_c, ack) = Client::connect(srv.tcp, Version::V3_1_1, "ka3", true).await;
    assert_eq!(
        ack.reason,
        ReasonCode::ClientIdentifierNotValid,
        "3.1.1 is refused like Mosquitto"
    );
}

#[tokio::test]
async fn assigned_client_identifier_mqtt_3_2_2_16() {
    let srv = Broker::start().await;
    let (_c, ack) = Client::connect(srv.tcp, V5, "", true).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    assert!(
        ack.properties
            .assigned_client_identifier
            .as_ref()
            .is_some_and(|id| !id.is_empty())
    );
    let (_c, ack) = Client::connect(srv.tcp, Version::V3_1_1, "", false).await;
    assert_eq!(
        ack.reason,
        ReasonCode::ClientIdentifierNotValid,
        "[MQTT-3.1.3-8]"
    );
}

#[tokio::test]
async fn slow_consumer_queue_is_bounded_and_drops_are_counted_in_sys() {
    let srv = Broker::with(|c| c.max_queued_messages = 5).await;
    let mut conn = connect_packet(V5, "stuck", true);
    conn.properties.receive_maximum = Some(1);
    let mut s = Client::tcp(srv.tcp, V5, "stuck").await;
    s.handshake(conn).await;
    s.subscribe_pid(1, "b", QoS::AtLeastOnce).await;
    let (mut watch, _) = Client::connect(srv.tcp, V5, "watch", true).await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "p", true).await;
    for i in 1..=20u16 {
        p.send_publish("b", &[i as u8], QoS::AtLeastOnce, i, false)
            .await;
        assert!(matches!(p.recv().await, Packet::PubAck(_)));
    }
    // One in flight + five queued; the rest were dropped.
    let mut got = Vec::new();
    for _ in 0..6 {
        let m = s.recv_publish().await;
        got.push(m.payload[0]);
        s.send(Packet::PubAck(PubResp::new(m.qos_pid.pid().unwrap())))
            .await;
    }
    assert_eq!(got, vec![1, 2, 3, 4, 5, 6]);
    s.expect_quiet(Duration::from_millis(200)).await;
    watch
        .subscribe_pid(1, "$SYS/broker/publish/messages/dropped", QoS::AtMostOnce)
        .await;
    loop {
        let m = watch.recv_publish().await;
        if m.payload == Bytes::from_static(b"14") {
            break;
        }
    }
}
