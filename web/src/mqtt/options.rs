//! What we ask the broker for in CONNECT, already validated.

use bytes::Bytes;
use bytestring::ByteString;
use tern_codec::{Connect, ConnectProperties, LastWill, QoS, TopicName, Version};

/// Largest packet we accept from the broker (and tell an MQTT 5 broker about). Bounds the
/// receive buffer.
pub const MAX_PACKET_SIZE: u32 = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WillOptions {
    pub topic: TopicName,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub version: Version,
    pub client_id: String,
    /// Clean Session (3.1.1) / Clean Start (5.0).
    pub clean_session: bool,
    /// Seconds; 0 switches keep-alive off.
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub will: Option<WillOptions>,
    /// MQTT 5 Session Expiry Interval in seconds, sent when the session is not clean (in 5.0
    /// a session without it ends with the connection, which would make "not clean" pointless).
    pub session_expiry: u32,
}

impl ConnectOptions {
    pub fn to_connect(&self) -> Connect {
        let v5 = self.version.is_v5();
        let mut properties = ConnectProperties::default();
        if v5 {
            if !self.clean_session && self.session_expiry > 0 {
                properties.session_expiry_interval = Some(self.session_expiry);
            }
            // 5.0 [MQTT-3.1.2-24]: the broker must not send us anything bigger.
            properties.maximum_packet_size = Some(MAX_PACKET_SIZE);
        }
        Connect {
            version: self.version,
            clean_start: self.clean_session,
            keep_alive: self.keep_alive,
            client_id: ByteString::from(self.client_id.as_str()),
            will: self.will.as_ref().map(|w| LastWill {
                topic: w.topic.clone(),
                payload: w.payload.clone(),
                qos: w.qos,
                retain: w.retain,
                properties: Default::default(),
            }),
            username: self.username.as_deref().map(ByteString::from),
            password: self
                .password
                .as_ref()
                .map(|p| Bytes::copy_from_slice(p.as_bytes())),
            properties: properties.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_codec::Props;

    fn opts(version: Version, clean: bool) -> ConnectOptions {
        ConnectOptions {
            version,
            client_id: "tern-web-1".into(),
            clean_session: clean,
            keep_alive: 30,
            username: Some("ann".into()),
            password: Some("secret".into()),
            will: Some(WillOptions {
                topic: TopicName::new("class/ann/status").unwrap(),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            session_expiry: 600,
        }
    }

    #[test]
    fn connect_carries_every_field() {
        let c = opts(Version::V3_1_1, false).to_connect();
        assert_eq!(c.version, Version::V3_1_1);
        assert!(!c.clean_start);
        assert_eq!(c.keep_alive, 30);
        assert_eq!(&*c.client_id, "tern-web-1");
        assert_eq!(c.username.as_deref(), Some("ann"));
        assert_eq!(c.password.as_deref(), Some(&b"secret"[..]));
        let will = c.will.unwrap();
        assert_eq!(will.topic.as_str(), "class/ann/status");
        assert_eq!((will.qos, will.retain), (QoS::AtLeastOnce, true));
        assert_eq!(c.properties, Props::none(), "no properties in 3.1.1");
    }

    #[test]
    fn v5_persistent_session_sends_session_expiry_and_max_packet_size() {
        let c = opts(Version::V5, false).to_connect();
        assert_eq!(c.properties.session_expiry_interval, Some(600));
        assert_eq!(c.properties.maximum_packet_size, Some(MAX_PACKET_SIZE));
        let clean = opts(Version::V5, true).to_connect();
        assert_eq!(clean.properties.session_expiry_interval, None);
    }
}
