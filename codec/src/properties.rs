//! MQTT 5 properties (section 2.2.2) as one plain struct per packet family. Absent properties
//! are `None` / empty, so `Default` is "no properties" and MQTT 3.x packets simply carry the
//! default value. Decoding rejects unknown identifiers, identifiers not allowed in the packet
//! (Malformed Packet, section 2.2.2.2), duplicates (Protocol Error; User Property and the
//! PUBLISH Subscription Identifier may repeat) and out-of-range values.
//!
//! Packets hold them as [`Props<T>`], allocated only when a packet has properties.
//!
//! Submodules: `block` (`Props`), `id` (identifiers), `read` / `write` (wire helpers), `connect` (CONNECT, Will,
//! CONNACK) and `packets` (everything else).

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use bytestring::ByteString;

use crate::topic::TopicName;
use crate::types::{QoS, UserProperties};

mod block;
mod connect;
mod id;
mod packets;
mod read;
mod write;

pub use block::{PropertyBlock, Props};
pub use id::PropertyId;
pub(crate) use read::PropReader;
pub(crate) use write::{PropWrite, write_block};

/// CONNECT properties (section 3.1.2.11).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectProperties {
    pub session_expiry_interval: Option<u32>,
    /// Must not be 0 (Protocol Error).
    pub receive_maximum: Option<u16>,
    /// Must not be 0 (Protocol Error).
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<bool>,
    pub request_problem_information: Option<bool>,
    pub user_properties: UserProperties,
    pub authentication_method: Option<ByteString>,
    /// Only together with `authentication_method`.
    pub authentication_data: Option<Bytes>,
}

/// Will properties, carried in the CONNECT payload (section 3.1.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WillProperties {
    pub will_delay_interval: Option<u32>,
    pub payload_format_indicator: Option<bool>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<ByteString>,
    pub response_topic: Option<TopicName>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: UserProperties,
}

/// CONNACK properties (section 3.2.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAckProperties {
    pub session_expiry_interval: Option<u32>,
    pub receive_maximum: Option<u16>,
    /// Only QoS 0 or 1 may be sent; absence means QoS 2 is supported.
    pub maximum_qos: Option<QoS>,
    pub retain_available: Option<bool>,
    pub maximum_packet_size: Option<u32>,
    pub assigned_client_identifier: Option<ByteString>,
    pub topic_alias_maximum: Option<u16>,
    pub reason_string: Option<ByteString>,
    pub user_properties: UserProperties,
    pub wildcard_subscription_available: Option<bool>,
    pub subscription_identifiers_available: Option<bool>,
    pub shared_subscription_available: Option<bool>,
    pub server_keep_alive: Option<u16>,
    pub response_information: Option<ByteString>,
    pub server_reference: Option<ByteString>,
    pub authentication_method: Option<ByteString>,
    pub authentication_data: Option<Bytes>,
}

/// PUBLISH properties (section 3.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishProperties {
    pub payload_format_indicator: Option<bool>,
    pub message_expiry_interval: Option<u32>,
    pub topic_alias: Option<NonZeroU16>,
    pub response_topic: Option<TopicName>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: UserProperties,
    /// Server to client only; may repeat, one per matching subscription ([MQTT-3.3.4-3]).
    pub subscription_identifiers: Vec<NonZeroU32>,
    pub content_type: Option<ByteString>,
}

/// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckProperties {
    pub reason_string: Option<ByteString>,
    pub user_properties: UserProperties,
}

/// SUBSCRIBE properties (section 3.8.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscribeProperties {
    /// At most one, 1..=268,435,455.
    pub subscription_identifier: Option<NonZeroU32>,
    pub user_properties: UserProperties,
}

/// UNSUBSCRIBE properties (section 3.10.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubscribeProperties {
    pub user_properties: UserProperties,
}

/// DISCONNECT properties (section 3.14.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DisconnectProperties {
    pub session_expiry_interval: Option<u32>,
    pub reason_string: Option<ByteString>,
    pub user_properties: UserProperties,
    pub server_reference: Option<ByteString>,
}

/// AUTH properties (section 3.15.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthProperties {
    pub authentication_method: Option<ByteString>,
    pub authentication_data: Option<Bytes>,
    pub reason_string: Option<ByteString>,
    pub user_properties: UserProperties,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Default is empty, and setting any single field makes the struct non-empty.
    macro_rules! emptiness {
        ($ty:ty { $($field:ident = $val:expr),* $(,)? }) => {{
            assert!(<$ty>::default().is_empty(), stringify!($ty));
            $(
                let mut p = <$ty>::default();
                p.$field = $val;
                assert!(!p.is_empty(), concat!(stringify!($ty), ".", stringify!($field)));
            )*
        }};
    }

    #[test]
    fn is_empty_checks_every_field() {
        let s = || Some(ByteString::from("x"));
        let b = || Some(Bytes::from_static(b"x"));
        let t = || Some(TopicName::new("t").unwrap());
        let user = || vec![(ByteString::new(), ByteString::new())];
        emptiness!(ConnectProperties {
            session_expiry_interval = Some(0), receive_maximum = Some(1), maximum_packet_size = Some(1),
            topic_alias_maximum = Some(0), request_response_information = Some(false),
            request_problem_information = Some(false), user_properties = user(),
            authentication_method = s(), authentication_data = b(),
        });
        emptiness!(WillProperties {
            will_delay_interval = Some(0), payload_format_indicator = Some(false),
            message_expiry_interval = Some(0), content_type = s(), response_topic = t(),
            correlation_data = b(), user_properties = user(),
        });
        emptiness!(ConnAckProperties {
            session_expiry_interval = Some(0), receive_maximum = Some(1), maximum_qos = Some(QoS::AtMostOnce),
            retain_available = Some(true), maximum_packet_size = Some(1), assigned_client_identifier = s(),
            topic_alias_maximum = Some(0), reason_string = s(), user_properties = user(),
            wildcard_subscription_available = Some(true), subscription_identifiers_available = Some(true),
            shared_subscription_available = Some(true), server_keep_alive = Some(0),
            response_information = s(), server_reference = s(), authentication_method = s(),
            authentication_data = b(),
        });
        emptiness!(PublishProperties {
            payload_format_indicator = Some(false), message_expiry_interval = Some(0),
            topic_alias = NonZeroU16::new(1), response_topic = t(), correlation_data = b(),
            user_properties = user(), subscription_identifiers = vec![NonZeroU32::MIN], content_type = s(),
        });
        emptiness!(AckProperties { reason_string = s(), user_properties = user() });
        emptiness!(SubscribeProperties { subscription_identifier = Some(NonZeroU32::MIN), user_properties = user() });
        emptiness!(UnsubscribeProperties { user_properties = user() });
        emptiness!(DisconnectProperties {
            session_expiry_interval = Some(0), reason_string = s(), user_properties = user(), server_reference = s(),
        });
        emptiness!(AuthProperties {
            authentication_method = s(), authentication_data = b(), reason_string = s(), user_properties = user(),
        });
    }
}
