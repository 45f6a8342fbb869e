//! Property codecs of the connection handshake: CONNECT, the Will and CONNACK.

use super::read::set_once;
use super::write::{
    os, w_bin, w_bool, w_nonzero_u16, w_nonzero_u32, w_str, w_u8, w_u16, w_u32, w_user,
};
use super::{ConnAckProperties, ConnectProperties, PropReader, PropWrite, PropertyId as P};
use crate::error::{DecodeError, EncodeError};
use crate::packet::PacketType;
use crate::types::QoS;
use crate::wire::{Reader, Sink};

/// Section 3.1.2.11.10: "It is a Protocol Error to include Authentication Data if there is no
/// Authentication Method" (the same rule holds in CONNACK and AUTH).
pub(crate) fn check_auth_pair<M, D>(method: &Option<M>, data: &Option<D>) -> bool {
    !(data.is_some() && method.is_none())
}

impl ConnectProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::Connect)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::SessionExpiryInterval => set_once(&mut o.session_expiry_interval, id, p.u32()?)?,
                P::ReceiveMaximum => {
                    set_once(&mut o.receive_maximum, id, p.nonzero_u16(id)?.get())?;
                }
                P::MaximumPacketSize => {
                    set_once(&mut o.maximum_packet_size, id, p.nonzero_u32(id)?)?;
                }
                P::TopicAliasMaximum => set_once(&mut o.topic_alias_maximum, id, p.u16()?)?,
                P::RequestResponseInformation => {
                    set_once(&mut o.request_response_information, id, p.bool(id)?)?;
                }
                P::RequestProblemInformation => {
                    set_once(&mut o.request_problem_information, id, p.bool(id)?)?;
                }
                P::UserProperty => o.user_properties.push(p.pair()?),
                P::AuthenticationMethod => set_once(&mut o.authentication_method, id, p.string()?)?,
                P::AuthenticationData => set_once(&mut o.authentication_data, id, p.binary()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        if !check_auth_pair(&o.authentication_method, &o.authentication_data) {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(o)
    }
}

impl PropWrite for ConnectProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            session_expiry_interval,
            receive_maximum,
            maximum_packet_size,
            topic_alias_maximum,
            request_response_information,
            request_problem_information,
            authentication_method,
            authentication_data,
            user_properties,
        } = self;
        session_expiry_interval.is_none()
            && receive_maximum.is_none()
            && maximum_packet_size.is_none()
            && topic_alias_maximum.is_none()
            && request_response_information.is_none()
            && request_problem_information.is_none()
            && authentication_method.is_none()
            && authentication_data.is_none()
            && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        if !check_auth_pair(&self.authentication_method, &self.authentication_data) {
            return Err(EncodeError::AuthDataWithoutMethod);
        }
        w_u32(s, P::SessionExpiryInterval, self.session_expiry_interval);
        w_nonzero_u16(s, P::ReceiveMaximum, self.receive_maximum)?;
        w_nonzero_u32(s, P::MaximumPacketSize, self.maximum_packet_size)?;
        w_u16(s, P::TopicAliasMaximum, self.topic_alias_maximum);
        w_bool(
            s,
            P::RequestResponseInformation,
            self.request_response_information,
        );
        w_bool(
            s,
            P::RequestProblemInformation,
            self.request_problem_information,
        );
        w_user(s, &self.user_properties)?;
        w_str(s, P::AuthenticationMethod, os(&self.authentication_method))?;
        w_bin(
            s,
            P::AuthenticationData,
            self.authentication_data.as_deref(),
        )
    }
}

impl super::WillProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        // Will properties live in the CONNECT payload; misplaced ones are reported as CONNECT's.
        let mut p = PropReader::new(r, PacketType::Connect)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::WillDelayInterval => set_once(&mut o.will_delay_interval, id, p.u32()?)?,
                P::PayloadFormatIndicator => {
                    set_once(&mut o.payload_format_indicator, id, p.bool(id)?)?;
                }
                P::MessageExpiryInterval => set_once(&mut o.message_expiry_interval, id, p.u32()?)?,
                P::ContentType => set_once(&mut o.content_type, id, p.string()?)?,
                P::ResponseTopic => set_once(&mut o.response_topic, id, p.topic()?)?,
                P::CorrelationData => set_once(&mut o.correlation_data, id, p.binary()?)?,
                P::UserProperty => o.user_properties.push(p.pair()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(o)
    }
}

impl PropWrite for super::WillProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            will_delay_interval,
            payload_format_indicator,
            message_expiry_interval,
            content_type,
            response_topic,
            correlation_data,
            user_properties,
        } = self;
        will_delay_interval.is_none()
            && payload_format_indicator.is_none()
            && message_expiry_interval.is_none()
            && content_type.is_none()
            && response_topic.is_none()
            && correlation_data.is_none()
            && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        w_u32(s, P::WillDelayInterval, self.will_delay_interval);
        w_bool(s, P::PayloadFormatIndicator, self.payload_format_indicator);
        w_u32(s, P::MessageExpiryInterval, self.message_expiry_interval);
        w_str(s, P::ContentType, os(&self.content_type))?;
        write_response_topic(s, self.response_topic.as_ref())?;
        w_bin(s, P::CorrelationData, self.correlation_data.as_deref())?;
        w_user(s, &self.user_properties)
    }
}

/// Response Topic must be a valid, non-empty topic name ([MQTT-3.3.2-14]); `TopicName::empty`
/// is only meaningful as a PUBLISH topic.
pub(crate) fn write_response_topic<S: Sink>(
    s: &mut S,
    t: Option<&crate::TopicName>,
) -> Result<(), EncodeError> {
    match t {
        Some(t) if t.is_empty() => Err(EncodeError::InvalidPropertyValue(P::ResponseTopic)),
        Some(t) => w_str(s, P::ResponseTopic, Some(t.as_str())),
        None => Ok(()),
    }
}

impl ConnAckProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::ConnAck)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::SessionExpiryInterval => set_once(&mut o.session_expiry_interval, id, p.u32()?)?,
                P::ReceiveMaximum => {
                    set_once(&mut o.receive_maximum, id, p.nonzero_u16(id)?.get())?;
                }
                P::MaximumQoS => set_once(&mut o.maximum_qos, id, p.max_qos(id)?)?,
                P::RetainAvailable => set_once(&mut o.retain_available, id, p.bool(id)?)?,
                P::MaximumPacketSize => {
                    set_once(&mut o.maximum_packet_size, id, p.nonzero_u32(id)?)?;
                }
                P::AssignedClientIdentifier => {
                    set_once(&mut o.assigned_client_identifier, id, p.string()?)?;
                }
                P::TopicAliasMaximum => set_once(&mut o.topic_alias_maximum, id, p.u16()?)?,
                P::ReasonString => set_once(&mut o.reason_string, id, p.string()?)?,
                P::UserProperty => o.user_properties.push(p.pair()?),
                P::WildcardSubscriptionAvailable => {
                    set_once(&mut o.wildcard_subscription_available, id, p.bool(id)?)?;
                }
                P::SubscriptionIdentifierAvailable => {
                    set_once(&mut o.subscription_identifiers_available, id, p.bool(id)?)?;
                }
                P::SharedSubscriptionAvailable => {
                    set_once(&mut o.shared_subscription_available, id, p.bool(id)?)?;
                }
                P::ServerKeepAlive => set_once(&mut o.server_keep_alive, id, p.u16()?)?,
                P::ResponseInformation => set_once(&mut o.response_information, id, p.string()?)?,
                P::ServerReference => set_once(&mut o.server_reference, id, p.string()?)?,
                P::AuthenticationMethod => set_once(&mut o.authentication_method, id, p.string()?)?,
                P::AuthenticationData => set_once(&mut o.authentication_data, id, p.binary()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        if !check_auth_pair(&o.authentication_method, &o.authentication_data) {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(o)
    }
}

impl PropWrite for ConnAckProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            session_expiry_interval,
            receive_maximum,
            maximum_qos,
            retain_available,
            maximum_packet_size,
            assigned_client_identifier,
            topic_alias_maximum,
            reason_string,
            wildcard_subscription_available,
            subscription_identifiers_available,
            shared_subscription_available,
            server_keep_alive,
            response_information,
            server_reference,
            authentication_method,
            authentication_data,
            user_properties,
        } = self;
        session_expiry_interval.is_none()
            && receive_maximum.is_none()
            && maximum_qos.is_none()
            && retain_available.is_none()
            && maximum_packet_size.is_none()
            && assigned_client_identifier.is_none()
            && topic_alias_maximum.is_none()
            && reason_string.is_none()
            && wildcard_subscription_available.is_none()
            && subscription_identifiers_available.is_none()
            && shared_subscription_available.is_none()
            && server_keep_alive.is_none()
            && response_information.is_none()
            && server_reference.is_none()
            && authentication_method.is_none()
            && authentication_data.is_none()
            && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        if !check_auth_pair(&self.authentication_method, &self.authentication_data) {
            return Err(EncodeError::AuthDataWithoutMethod);
        }
        // Maximum QoS can only announce 0 or 1 (section 3.2.2.3.4).
        let max_qos = match self.maximum_qos {
            Some(QoS::ExactlyOnce) => return Err(EncodeError::InvalidPropertyValue(P::MaximumQoS)),
            other => other.map(u8::from),
        };
        w_u32(s, P::SessionExpiryInterval, self.session_expiry_interval);
        w_nonzero_u16(s, P::ReceiveMaximum, self.receive_maximum)?;
        w_u8(s, P::MaximumQoS, max_qos);
        w_bool(s, P::RetainAvailable, self.retain_available);
        w_nonzero_u32(s, P::MaximumPacketSize, self.maximum_packet_size)?;
        w_str(
            s,
            P::AssignedClientIdentifier,
            os(&self.assigned_client_identifier),
        )?;
        w_u16(s, P::TopicAliasMaximum, self.topic_alias_maximum);
        w_str(s, P::ReasonString, os(&self.reason_string))?;
        w_user(s, &self.user_properties)?;
        w_bool(
            s,
            P::WildcardSubscriptionAvailable,
            self.wildcard_subscription_available,
        );
        w_bool(
            s,
            P::SubscriptionIdentifierAvailable,
            self.subscription_identifiers_available,
        );
        w_bool(
            s,
            P::SharedSubscriptionAvailable,
            self.shared_subscription_available,
        );
        w_u16(s, P::ServerKeepAlive, self.server_keep_alive);
        w_str(s, P::ResponseInformation, os(&self.response_information))?;
        w_str(s, P::ServerReference, os(&self.server_reference))?;
        w_str(s, P::AuthenticationMethod, os(&self.authentication_method))?;
        w_bin(
            s,
            P::AuthenticationData,
            self.authentication_data.as_deref(),
        )
    }
}
