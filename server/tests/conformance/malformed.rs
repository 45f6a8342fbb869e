//! Malformed and illegal input (3.1.1 §1.5.3, §2.2.2, §4.8; 5.0 §1.5.4, §2.1.3, §4.13): the
//! connection is closed — in MQTT 5 after a DISCONNECT with a reason code ≥ 0x80 — and no
//! other client notices anything.

use tern_codec::{Packet, QoS, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

use ReasonCode::{MalformedPacket as M, ProtocolError as P, TopicNameInvalid as T};

/// One illegal input: what it violates, the bytes for 3.1.1 and 5.0 (the latter with a
/// property length where the packet has one), and the reason codes acceptable in 5.0.
struct Case {
    rule: &'static str,
    v3: Vec<u8>,
    v5: Vec<u8>,
    reasons: &'static [ReasonCode],
}

fn publish_both(
    rule: &'static str,
    flags: u8,
    topic: &[u8],
    pid: Option<u16>,
    reasons: &'static [ReasonCode],
) -> Case {
    Case {
        rule,
        v3: raw_publish(flags, topic, pid, None, b"x"),
        v5: raw_publish(flags, topic, pid, Some(&[]), b"x"),
        reasons,
    }
}

fn same(rule: &'static str, bytes: &[u8], reasons: &'static [ReasonCode]) -> Case {
    Case {
        rule,
        v3: bytes.to_vec(),
        v5: bytes.to_vec(),
        reasons,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // [MQTT-2.2.2-2] (3.1.1) "If invalid flags are received, the receiver MUST close the
        // Network Connection." (5.0 [MQTT-2.1.3-1]: Malformed Packet.)
        same("[MQTT-2.2.2-2] PINGREQ flags 0001", &[0xC1, 0x00], &[M]),
        same(
            "[MQTT-3.6.1-1] PUBREL flags 0000",
            &[0x60, 0x02, 0x00, 0x01],
            &[M],
        ),
        same(
            "[MQTT-2.2.2-2] PUBACK flags 0010",
            &[0x42, 0x02, 0x00, 0x01],
            &[M],
        ),
        Case {
            rule: "[MQTT-3.8.1-1] SUBSCRIBE flags 0000",
            v3: frame(0x80, &[0x00, 0x01, 0x00, 0x01, b'a', 0x00]),
            v5: frame(0x80, &[0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x00]),
            reasons: &[M],
        },
        Case {
            rule: "[MQTT-3.10.1-1] UNSUBSCRIBE flags 0000",
            v3: frame(0xA0, &[0x00, 0x01, 0x00, 0x01, b'a']),
            v5: frame(0xA0, &[0x00, 0x01, 0x00, 0x00, 0x01, b'a']),
            reasons: &[M],
        },
        same("[MQTT-3.14.1-1] DISCONNECT flags 0001", &[0xE1, 0x00], &[M]),
        same("reserved packet type 0", &[0x00, 0x00], &[M, P]),
        // [MQTT-3.3.1-4] "A PUBLISH Packet MUST NOT have both QoS bits set to 1."
        publish_both("[MQTT-3.3.1-4] PUBLISH QoS 3", 0x06, b"a/b", Some(1), &[M]),
        // [MQTT-2.3.1-1] QoS > 0 PUBLISH "MUST contain a non-zero 16-bit Packet Identifier".
        publish_both(
            "[MQTT-2.3.1-1] packet identifier 0",
            0x02,
            b"a/b",
            Some(0),
            &[M, P],
        ),
        // [MQTT-3.3.2-2] "The Topic Name in the PUBLISH Packet MUST NOT contain wildcard
        // characters."
        publish_both(
            "[MQTT-3.3.2-2] '+' in topic name",
            0x00,
            b"a/+",
            None,
            &[M, P, T],
        ),
        publish_both(
            "[MQTT-3.3.2-2] '#' in topic name",
            0x00,
            b"a/#",
            None,
            &[M, P, T],
        ),
        // [MQTT-4.7.3-1] "All Topic Names and Topic Filters MUST be at least one character
        // long" (5.0: unless a Topic Alias is present).
        publish_both(
            "[MQTT-4.7.3-1] empty topic name",
            0x00,
            b"",
            None,
            &[M, P, T],
        ),
        // [MQTT-1.5.3-1] "If a Server or Client receives a Control Packet containing ill-formed
        // UTF-8 it MUST close the Network Connection" (incl. surrogates U+D800..U+DFFF).
        publish_both(
            "[MQTT-1.5.3-1] ill-formed UTF-8",
            0x00,
            &[b'a', 0xC3, 0x28],
            None,
            &[M, T],
        ),
        publish_both(
            "[MQTT-1.5.3-1] UTF-16 surrogate",
            0x00,
            &[0xED, 0xA0, 0x80],
            None,
            &[M, T],
        ),
        // [MQTT-1.5.3-2] "If a receiver (Server or Client) receives a Control Packet containing
        // U+0000 it MUST close the Network Connection."
        publish_both(
            "[MQTT-1.5.3-2] U+0000 in topic",
            0x00,
            b"a\0b",
            None,
            &[M, T],
        ),
        // §2.2.3: the Remaining Length is at most four bytes.
        same(
            "§2.2.3 five-byte remaining length",
            &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            &[M],
        ),
        // A string length running past the end of the packet.
        same(
            "§1.5.3 string longer than its packet",
            &[0x30, 0x03, 0x00, 0x0A, b'a'],
            &[M],
        ),
        // Server-to-client packets are not valid from a client ([MQTT-4.8.0-1] violation).
        same("CONNACK from a client", &[0x20, 0x02, 0x00, 0x00], &[M, P]),
        same("PINGRESP from a client", &[0xD0, 0x00], &[M, P]),
        Case {
            rule: "SUBACK from a client",
            v3: vec![0x90, 0x03, 0x00, 0x01, 0x00],
            v5: vec![0x90, 0x04, 0x00, 0x01, 0x00, 0x00],
            reasons: &[M, P],
        },
        // 5.0 §2.2.2.2: "It is a Protocol Error to include the same property more than once"
        // (except User Property / Subscription Identifier); unknown identifiers are malformed.
        Case {
            rule: "§2.2.2.2 duplicate property (v5); PINGREQ with a body (v3)",
            v3: vec![0xC0, 0x01, 0x00],
            v5: raw_publish(0x00, b"a", None, Some(&[0x01, 0x01, 0x01, 0x01]), b"x"),
            reasons: &[M, P],
        },
        Case {
            rule: "§2.2.2.2 unknown property identifier (v5); PINGREQ with a body (v3)",
            v3: vec![0xC0, 0x02, 0x00, 0x00],
            v5: raw_publish(0x00, b"a", None, Some(&[0x7F, 0x00]), b"x"),
            reasons: &[M, P],
        },
    ]
}

/// Every case closes the offending connection (5.0: DISCONNECT with an acceptable reason code
/// first, [MQTT-4.13.1-1] and issue #3), while a bystander keeps working: its subscription
/// still delivers afterwards ("never affect other clients").
async fn malformed(v: Version) {
    let broker = Broker::target().await;
    let mut bystander = Client::connected(broker.tcp, v, "bystander").await;
    bystander.subscribe("by/t", QoS::AtLeastOnce).await;
    let mut publisher = Client::connected(broker.tcp, v, "by-pub").await;
    let mut failures = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let mut c = Client::connected(broker.tcp, v, &format!("rogue{i}")).await;
        let bytes = if v == Version::V5 { &case.v5 } else { &case.v3 };
        c.send_raw(bytes).await;
        let mut got = Vec::new();
        let closed = loop {
            match c.next_event(DEADLINE).await {
                Event::Packet(p) => got.push(p),
                Event::Closed => break true,
                Event::Timeout => break false,
            }
        };
        let verdict = match (closed, v, got.last()) {
            (false, ..) => Some(format!("not closed; got {got:?}")),
            (true, Version::V5, Some(Packet::Disconnect(d)))
                if case.reasons.contains(&d.reason) =>
            {
                None
            }
            (true, Version::V5, _) => Some(format!(
                "expected DISCONNECT {:?} before close, got {got:?}",
                case.reasons
            )),
            (true, _, _) if got.is_empty() => None,
            (true, _, _) => Some(format!("3.1.1 closes without a reply, got {got:?}")),
        };
        if let Some(why) = verdict {
            failures.push(format!("{}: {why}", case.rule));
        }
        publisher
            .publish_simple("by/t", QoS::AtLeastOnce, case.rule, false)
            .await;
        let m = bystander.recv_publish_acked().await;
        assert_eq!(
            &m.payload[..],
            case.rule.as_bytes(),
            "bystander after {}",
            case.rule
        );
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
per_version!(
    mqtt_4_13_1_1_malformed_input_closes_and_spares_others,
    malformed
);

/// After an oversized pile of garbage the broker still accepts and serves new clients
/// ("never panic").
#[tokio::test]
async fn tern_garbage_never_takes_the_broker_down() {
    let broker = Broker::target().await;
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for start in [0usize, 1, 7, 100] {
        // End of stream after the garbage: the server must close even if the garbage ended
        // inside a plausible packet it was still waiting for.
        let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "garbage").await;
        c.send_raw(&garbage[start..]).await;
        c.shutdown_write().await;
        let _ = c.recv_raw(usize::MAX).await;
        assert!(
            c.closed(),
            "connection not closed after garbage + end of stream"
        );
        let mut c = Client::connected(broker.tcp, Version::V5, "after-garbage").await;
        c.send_raw(&garbage[start..]).await;
        c.shutdown_write().await;
        let _ = c.recv_raw(usize::MAX).await;
        assert!(
            c.closed(),
            "connection not closed after garbage + end of stream"
        );
    }
    let mut ok = Client::connected(broker.tcp, Version::V5, "survivor").await;
    ok.expect_nothing("broker still serves").await;
}
