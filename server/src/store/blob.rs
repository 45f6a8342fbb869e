//! A message as stored bytes: the absolute expiry (UNIX ms, 0 = none), then the message as
//! an MQTT 5 PUBLISH encoded by `tern-codec` (topic, payload, QoS, RETAIN, properties), so
//! every v5 property survives without a second encoding to maintain.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tern_codec::{DecodeConfig, Packet, Pid, PropertyBlock, Props, Publish, QoS, QosPid, Version};

use super::image::Clock;
use super::model::Message;

/// Encodes `m`; its expiry is written as an absolute time ([MQTT-3.3.2-6] recomputes the
/// interval on delivery). With `relative_expiry` (an armed will, published later) the
/// Message Expiry Interval is kept in the properties instead.
pub fn encode(m: &Message, clock: Clock, relative_expiry: Option<u32>) -> Result<Vec<u8>, String> {
    let mut properties = m.properties.clone();
    if let Some(p) = properties.as_mut() {
        p.message_expiry_interval = None;
        p.topic_alias = None;
        p.subscription_identifiers.clear();
    }
    if let Some(secs) = relative_expiry {
        properties
            .get_or_insert_with(Default::default)
            .message_expiry_interval = Some(secs);
    }
    let qos_pid = QosPid::from_parts(m.qos, Pid::new(1).filter(|_| m.qos != QoS::AtMostOnce))
        .unwrap_or(QosPid::AtMostOnce);
    let publish = Publish {
        dup: false,
        qos_pid,
        retain: m.retain,
        topic: m.topic.clone(),
        payload: m.payload.clone(),
        properties: properties.map_or_else(Props::none, Props::from),
    };
    let mut buf = BytesMut::with_capacity(16 + m.topic.len() + m.payload.len());
    buf.put_u64(m.expires_at.map_or(0, |at| clock.to_unix(at).max(1)));
    tern_codec::encode(&Packet::Publish(publish), Version::V5, &mut buf)
        .map_err(|e| format!("cannot encode the message on {}: {e}", m.topic.as_str()))?;
    Ok(buf.to_vec())
}

/// A decoded message, with whether it expired before `clock` and the relative expiry an
/// armed will carries.
pub struct Decoded {
    pub msg: Arc<Message>,
    pub expired: bool,
    pub relative_expiry: Option<u32>,
}

/// Decodes what [`encode`] wrote; remaining expiry intervals become `Instant`s at `clock`.
pub fn decode(bytes: &[u8], clock: Clock) -> Result<Decoded, String> {
    if bytes.len() < 8 {
        return Err("message record shorter than its header".into());
    }
    let mut b = Bytes::copy_from_slice(bytes);
    let expires = b.get_u64();
    let cfg = DecodeConfig {
        version: Version::V5,
        // Any size: a lower `max_packet_size` than when it was stored must not make it
        // unreadable (the limit applies to what clients send).
        max_packet_size: u32::MAX,
    };
    let mut buf = BytesMut::from(&b[..]);
    let p = match tern_codec::decode(&mut buf, &cfg) {
        Ok(Some(Packet::Publish(p))) if buf.is_empty() => p,
        Ok(_) => return Err("message record is not one PUBLISH packet".into()),
        Err(e) => return Err(format!("message record: {e}")),
    };
    let mut properties = p.properties.into_box();
    let relative_expiry = properties
        .as_mut()
        .and_then(|p| p.message_expiry_interval.take());
    let left = (expires != 0).then(|| clock.left(expires));
    Ok(Decoded {
        expired: matches!(left, Some(None)),
        relative_expiry,
        msg: Arc::new(Message {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos_pid.qos(),
            retain: p.retain,
            properties: properties.filter(|b| !b.is_empty()),
            origin: None,
            // An expired in-flight message keeps an expiry in the past (it is still resent:
            // onward delivery had started).
            expires_at: left.map(|l| clock.instant + l.unwrap_or_default()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tern_codec::{PublishProperties, TopicName};

    use super::*;

    #[test]
    fn round_trip_keeps_properties_and_remaining_expiry() {
        let clock = Clock::now();
        let m = Message {
            topic: TopicName::new("a/b").unwrap(),
            payload: Bytes::from_static(b"payload"),
            qos: QoS::ExactlyOnce,
            retain: true,
            properties: Some(Box::new(PublishProperties {
                content_type: Some("text/plain".into()),
                user_properties: vec![("k".into(), "v".into())],
                ..Default::default()
            })),
            origin: None,
            expires_at: Some(clock.instant + Duration::from_secs(60)),
        };
        let bytes = encode(&m, clock, None).unwrap();
        // Loaded 10 s later: 50 s are left.
        let later = Clock {
            instant: clock.instant + Duration::from_secs(100),
            unix_ms: clock.unix_ms + 10_000,
        };
        let d = decode(&bytes, later).unwrap();
        assert!(!d.expired);
        assert_eq!(d.msg.topic.as_str(), "a/b");
        assert_eq!(d.msg.properties, m.properties);
        assert_eq!(
            d.msg.expires_at,
            Some(later.instant + Duration::from_secs(50))
        );
        let expired = Clock {
            instant: clock.instant,
            unix_ms: clock.unix_ms + 61_000,
        };
        assert!(decode(&bytes, expired).unwrap().expired);
        // An armed will keeps its relative interval.
        let w = decode(&encode(&m, clock, Some(30)).unwrap(), clock).unwrap();
        assert_eq!(w.relative_expiry, Some(30));
        assert!(decode(&bytes[..5], clock).is_err());
    }
}
