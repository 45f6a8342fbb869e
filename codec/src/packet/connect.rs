//! CONNECT (section 3.1) and its Last Will.

use bytes::Bytes;
use bytestring::ByteString;

use super::{PacketType, expect_end};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{ConnectProperties, PropertyBlock, Props, WillProperties, write_block};
use crate::topic::TopicName;
use crate::types::{QoS, Version};
use crate::wire::{Reader, Sink};

/// CONNECT. Unlike every other packet it carries its own protocol version, which is used
/// for both decoding and encoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub version: Version,
    /// "Clean Session" in 3.x, "Clean Start" in 5.0.
    pub clean_start: bool,
    pub keep_alive: u16,
    /// May be empty (the server then assigns one or refuses, [MQTT-3.1.3-6]).
    pub client_id: ByteString,
    pub will: Option<LastWill>,
    pub username: Option<ByteString>,
    /// In 3.x only together with `username` ([MQTT-3.1.2-22]).
    pub password: Option<Bytes>,
    pub properties: Props<ConnectProperties>,
}

/// The Will Message of CONNECT (section 3.1.3.2-3.1.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    pub topic: TopicName,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub properties: Props<WillProperties>,
}

const CLEAN_START: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

impl Connect {
    /// A CONNECT with no will, credentials or properties.
    pub fn new(version: Version, client_id: impl Into<ByteString>) -> Connect {
        Connect {
            version,
            clean_start: true,
            keep_alive: 60,
            client_id: client_id.into(),
            will: None,
            username: None,
            password: None,
            properties: Props::none(),
        }
    }

    pub(crate) fn decode(body: Bytes) -> Result<Connect, DecodeError> {
        let mut r = Reader::new(body);
        let version = read_protocol(&mut r)?;
        let flags = r.u8("connect flags")?;
        if flags & 0x01 != 0 {
            return Err(DecodeError::ConnectReservedFlag); // [MQTT-3.1.2-3]
        }
        let will_flag = flags & WILL != 0;
        let will_qos =
            QoS::try_from((flags >> 3) & 0x03).map_err(|_| DecodeError::InvalidWillQoS)?;
        let will_retain = flags & WILL_RETAIN != 0;
        // [MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15]: without a will, QoS and retain are 0.
        if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
            return Err(DecodeError::WillFlagsWithoutWill);
        }
        let username_flag = flags & USERNAME != 0;
        let password_flag = flags & PASSWORD != 0;
        // [MQTT-3.1.2-22] applies to 3.x only; MQTT 5 allows a password without user name.
        if password_flag && !username_flag && !version.is_v5() {
            return Err(DecodeError::PasswordWithoutUsername);
        }
        let keep_alive = r.u16("keep alive")?;
        let properties = if version.is_v5() {
            ConnectProperties::decode(&mut r)?.into()
        } else {
            Props::none()
        };
        let client_id = r.string("client identifier")?;
        let will = if will_flag {
            let properties = if version.is_v5() {
                WillProperties::decode(&mut r)?.into()
            } else {
                Props::none()
            };
            let topic = r.string("will topic")?;
            // [MQTT-3.1.3-10] / [MQTT-4.7.1-1]: the Will Topic is a topic name, so no wildcards.
            let topic = TopicName::new(topic).map_err(DecodeError::InvalidTopicName)?;
            let payload = r.binary("will payload")?;
            Some(LastWill {
                topic,
                payload,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = if username_flag {
            Some(r.string("user name")?)
        } else {
            None
        };
        let password = if password_flag {
            Some(r.binary("password")?)
        } else {
            None
        };
        expect_end(&r, PacketType::Connect)?;
        Ok(Connect {
            version,
            clean_start: flags & CLEAN_START != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    pub(crate) fn write<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        let v5 = self.version.is_v5();
        if !v5 {
            if self.password.is_some() && self.username.is_none() {
                return Err(EncodeError::PasswordWithoutUsername);
            }
            let will_props = self.will.as_ref().is_some_and(|w| !w.properties.is_empty());
            if !self.properties.is_empty() || will_props {
                return Err(EncodeError::PropertiesNotInVersion {
                    packet: PacketType::Connect,
                    version: self.version,
                });
            }
        }
        s.put_string(self.version.protocol_name(), "protocol name")?;
        s.put_u8(self.version.level());
        let mut flags = 0u8;
        if self.clean_start {
            flags |= CLEAN_START;
        }
        if let Some(w) = &self.will {
            flags |= WILL | ((w.qos as u8) << 3);
            if w.retain {
                flags |= WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= USERNAME;
        }
        if self.password.is_some() {
            flags |= PASSWORD;
        }
        s.put_u8(flags);
        s.put_u16(self.keep_alive);
        if v5 {
            write_block(&self.properties, s)?;
        }
        s.put_string(&self.client_id, "client identifier")?;
        if let Some(w) = &self.will {
            if v5 {
                write_block(&w.properties, s)?;
            }
            if w.topic.is_empty() {
                return Err(EncodeError::EmptyTopicWithoutAlias);
            }
            s.put_string(&w.topic, "will topic")?;
            s.put_binary(&w.payload, "will payload")?;
        }
        if let Some(u) = &self.username {
            s.put_string(u, "user name")?;
        }
        if let Some(p) = &self.password {
            s.put_binary(p, "password")?;
        }
        Ok(())
    }
}

/// Protocol Name and Level ([MQTT-3.1.2-1], [MQTT-3.1.2-2]). A known name with an unknown
/// level is reported as `UnsupportedProtocolVersion` so the server can answer with CONNACK
/// 0x01 / 0x84.
fn read_protocol(r: &mut Reader) -> Result<Version, DecodeError> {
    let name = r.binary("protocol name")?;
    let level = r.u8("protocol level")?;
    match (name.as_ref(), level) {
        (b"MQTT", 4) => Ok(Version::V3_1_1),
        (b"MQTT", 5) => Ok(Version::V5),
        (b"MQIsdp", 3) => Ok(Version::V3_1),
        (b"MQTT" | b"MQIsdp", level) => Err(DecodeError::UnsupportedProtocolVersion { level }),
        _ => Err(DecodeError::InvalidProtocolName),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn mqtt_3_1_1_connect_section_3_1() {
        let c = Connect::new(Version::V3_1_1, "a");
        assert_vector(
            Version::V3_1_1,
            "10 0D 0004 4D515454 04 02 003C 0001 61",
            c.into(),
        );
    }

    #[test]
    fn password_flag_without_user_name_mqtt_3_1_2_22() {
        let e = decode_err(
            Version::V3_1_1,
            "10 10 0004 4D515454 04 40 003C 0001 61 0001 70",
        );
        assert_eq!(e, DecodeError::PasswordWithoutUsername);
        // Allowed in MQTT 5 (section 3.1.2.9).
        let c = Connect {
            password: Some(Bytes::from_static(b"p")),
            ..Connect::new(Version::V5, "a")
        };
        assert_vector(
            Version::V5,
            "10 11 0004 4D515454 05 42 003C 00 0001 61 0001 70",
            c.into(),
        );
    }

    #[test]
    fn unknown_level_is_unsupported_version_mqtt_3_1_2_2() {
        let e = decode_err(Version::V5, "10 0D 0004 4D515454 07 02 003C 0001 61");
        assert_eq!(e, DecodeError::UnsupportedProtocolVersion { level: 7 });
        assert_eq!(
            e.reason_code(),
            crate::ReasonCode::UnsupportedProtocolVersion
        );
    }
}
