//! MQTT 5 property identifiers (section 2.2.2.2, table 2-4).

use std::fmt;

macro_rules! property_ids {
    ($($name:ident = $val:literal, $text:literal;)*) => {
        /// Identifier of an MQTT 5 property.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum PropertyId {
            $($name = $val,)*
        }

        impl PropertyId {
            /// `None` for identifiers the specification does not define.
            pub const fn from_u32(v: u32) -> Option<PropertyId> {
                match v {
                    $($val => Some(PropertyId::$name),)*
                    _ => None,
                }
            }

            /// The property's name as written in the specification.
            pub const fn name(self) -> &'static str {
                match self {
                    $(PropertyId::$name => $text,)*
                }
            }
        }
    };
}

property_ids! {
    PayloadFormatIndicator = 0x01, "Payload Format Indicator";
    MessageExpiryInterval = 0x02, "Message Expiry Interval";
    ContentType = 0x03, "Content Type";
    ResponseTopic = 0x08, "Response Topic";
    CorrelationData = 0x09, "Correlation Data";
    SubscriptionIdentifier = 0x0B, "Subscription Identifier";
    SessionExpiryInterval = 0x11, "Session Expiry Interval";
    AssignedClientIdentifier = 0x12, "Assigned Client Identifier";
    ServerKeepAlive = 0x13, "Server Keep Alive";
    AuthenticationMethod = 0x15, "Authentication Method";
    AuthenticationData = 0x16, "Authentication Data";
    RequestProblemInformation = 0x17, "Request Problem Information";
    WillDelayInterval = 0x18, "Will Delay Interval";
    RequestResponseInformation = 0x19, "Request Response Information";
    ResponseInformation = 0x1A, "Response Information";
    ServerReference = 0x1C, "Server Reference";
    ReasonString = 0x1F, "Reason String";
    ReceiveMaximum = 0x21, "Receive Maximum";
    TopicAliasMaximum = 0x22, "Topic Alias Maximum";
    TopicAlias = 0x23, "Topic Alias";
    MaximumQoS = 0x24, "Maximum QoS";
    RetainAvailable = 0x25, "Retain Available";
    UserProperty = 0x26, "User Property";
    MaximumPacketSize = 0x27, "Maximum Packet Size";
    WildcardSubscriptionAvailable = 0x28, "Wildcard Subscription Available";
    SubscriptionIdentifierAvailable = 0x29, "Subscription Identifier Available";
    SharedSubscriptionAvailable = 0x2A, "Shared Subscription Available";
}

impl fmt::Display for PropertyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.name(), *self as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let known = (0..=0x7Fu32).filter_map(PropertyId::from_u32).count();
        assert_eq!(known, 27);
        assert_eq!(PropertyId::from_u32(0x26), Some(PropertyId::UserProperty));
        assert_eq!(PropertyId::from_u32(0x04), None);
        assert_eq!(PropertyId::TopicAlias.to_string(), "Topic Alias (0x23)");
    }
}
