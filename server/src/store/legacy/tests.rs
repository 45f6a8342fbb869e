//! Round trips of the snapshot body.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tern_codec::{Pid, PublishProperties, QoS, RetainHandling, SubscriptionOptions, TopicName};

use super::*;
use crate::store::NEVER_EXPIRES;
use crate::store::{Clock, Image, SessionImage};
use crate::store::{Delivery, Inflight, Message};

fn msg(topic: &str, payload: &'static [u8], expires_at: Option<Instant>) -> Arc<Message> {
    Arc::new(Message {
        topic: TopicName::new(topic).unwrap(),
        payload: Bytes::from_static(payload),
        qos: QoS::ExactlyOnce,
        retain: true,
        properties: Some(Box::new(PublishProperties {
            user_properties: vec![("a".into(), "b".into())],
            message_expiry_interval: Some(99),
            ..Default::default()
        })),
        origin: None,
        expires_at,
    })
}

fn delivery(m: &Arc<Message>) -> Delivery {
    Delivery {
        msg: Arc::clone(m),
        qos: QoS::AtLeastOnce,
        retain: false,
        sub_ids: vec![NonZeroU32::new(3).unwrap()],
        stored: None,
    }
}

fn session(shared: &Arc<Message>, expiry: u32, gone: Option<Instant>) -> SessionImage {
    SessionImage {
        sid: 0,
        client_id: "c1".into(),
        expiry,
        disconnected_at: gone,
        subscriptions: vec![(
            "$share/g/x/#".into(),
            SubscriptionOptions {
                qos: QoS::ExactlyOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
            },
            NonZeroU32::new(7),
        )],
        queue: vec![delivery(shared), delivery(shared)],
        inflight: vec![Inflight {
            pid: Pid::new(9).unwrap(),
            delivery: delivery(shared),
            released: true,
        }],
        incoming_qos2: vec![Pid::new(4).unwrap()],
        will: None,
        expired: false,
    }
}

#[test]
fn round_trip_keeps_everything_and_shares_messages() {
    let clock = Clock::now();
    let far = clock.instant + Duration::from_secs(3600);
    let shared = msg("x/y", b"payload", Some(far));
    let snap = Image {
        retained: vec![Arc::clone(&shared)],
        sessions: vec![session(&shared, NEVER_EXPIRES, None)],
    };
    let body = encode(&snap, clock).unwrap();
    let back = decode(body, clock, u32::MAX).unwrap();
    assert_eq!(back.retained.len(), 1);
    let r = &back.retained[0];
    assert_eq!((r.topic.as_str(), &r.payload[..]), ("x/y", &b"payload"[..]));
    assert_eq!(r.qos, QoS::ExactlyOnce);
    assert!(r.retain);
    let props = r.properties.as_ref().unwrap();
    assert_eq!(props.user_properties, vec![("a".into(), "b".into())]);
    assert_eq!(
        props.message_expiry_interval, None,
        "kept as an absolute time"
    );
    let left = r.expires_at.unwrap() - clock.instant;
    assert!(left.as_secs() >= 3599, "{left:?}");

    let s = &back.sessions[0];
    assert_eq!(s.client_id, "c1");
    assert_eq!(s.expiry, NEVER_EXPIRES);
    assert_eq!(s.subscriptions, snap.sessions[0].subscriptions);
    assert_eq!(s.queue.len(), 2);
    assert_eq!(s.queue[0].sub_ids, vec![NonZeroU32::new(3).unwrap()]);
    assert!(
        Arc::ptr_eq(&s.queue[0].msg, &s.queue[1].msg),
        "one Arc again"
    );
    assert!(Arc::ptr_eq(&s.queue[0].msg, r));
    assert_eq!(s.inflight[0].pid.get(), 9);
    assert!(s.inflight[0].released);
    assert_eq!(s.incoming_qos2, vec![Pid::new(4).unwrap()]);
}

#[test]
fn downtime_counts_against_message_and_session_expiry_mqtt_3_3_2_5() {
    let saved = Clock::now();
    let soon = msg("s", b"x", Some(saved.instant + Duration::from_secs(5)));
    let mut s = session(&soon, 100, Some(saved.instant));
    s.will = Some((
        Message::clone(&soon),
        saved.instant + Duration::from_secs(50),
    ));
    let body = encode(
        &Image {
            retained: vec![Arc::clone(&soon)],
            sessions: vec![s],
        },
        saved,
    )
    .unwrap();
    // Loaded 10 s of wall-clock time later.
    let later = Clock {
        instant: Instant::now(),
        unix_ms: saved.unix_ms + 10_000,
    };
    let back = decode(body.clone(), later, u32::MAX).unwrap();
    assert!(back.retained.is_empty(), "expired retained message dropped");
    let s = &back.sessions[0];
    assert!(s.queue.is_empty(), "expired queued messages dropped");
    assert_eq!(s.inflight.len(), 1, "in-flight kept: delivery had started");
    assert_eq!(s.expiry, 90, "what is left of the session expiry");
    let (_, due) = s.will.as_ref().unwrap();
    assert_eq!((*due - later.instant).as_secs(), 40);
    // 200 s later the session itself has expired [MQTT-3.1.2-23].
    let much_later = Clock {
        instant: Instant::now(),
        unix_ms: saved.unix_ms + 200_000,
    };
    assert!(decode(body, much_later, u32::MAX).unwrap().sessions[0].expired);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let clock = Clock::now();
    let shared = msg("t", b"p", None);
    let body = encode(
        &Image {
            retained: vec![Arc::clone(&shared)],
            sessions: vec![session(&shared, 60, None)],
        },
        clock,
    )
    .unwrap();
    for n in 0..body.len() {
        assert!(
            decode(body.slice(..n), clock, u32::MAX).is_err(),
            "prefix {n}"
        );
    }
    let mut extra = BytesMut::from(&body[..]);
    extra.extend_from_slice(&[0]);
    assert!(decode(extra.freeze(), clock, u32::MAX).is_err());
}
