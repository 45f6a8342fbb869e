//! Property codecs of PUBLISH, the acknowledgements, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT and
//! AUTH.

use super::connect::{check_auth_pair, write_response_topic};
use super::read::set_once;
use super::write::{os, w_bin, w_bool, w_str, w_u16, w_u32, w_user, w_varint};
use super::{
    AckProperties, AuthProperties, DisconnectProperties, PropReader, PropWrite, PropertyId as P,
    PublishProperties, SubscribeProperties, UnsubscribeProperties,
};
use crate::error::{DecodeError, EncodeError};
use crate::packet::PacketType;
use crate::wire::{Reader, Sink};

impl PublishProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::Publish)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::PayloadFormatIndicator => {
                    set_once(&mut o.payload_format_indicator, id, p.bool(id)?)?;
                }
                P::MessageExpiryInterval => set_once(&mut o.message_expiry_interval, id, p.u32()?)?,
                P::TopicAlias => set_once(&mut o.topic_alias, id, p.nonzero_u16(id)?)?,
                P::ResponseTopic => set_once(&mut o.response_topic, id, p.topic()?)?,
                P::CorrelationData => set_once(&mut o.correlation_data, id, p.binary()?)?,
                P::UserProperty => o.user_properties.push(p.pair()?),
                // May repeat in PUBLISH: one per matching subscription ([MQTT-3.3.4-3]).
                P::SubscriptionIdentifier => {
                    o.subscription_identifiers.push(p.subscription_id(id)?)
                }
                P::ContentType => set_once(&mut o.content_type, id, p.string()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(o)
    }
}

impl PropWrite for PublishProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            payload_format_indicator,
            message_expiry_interval,
            topic_alias,
            response_topic,
            correlation_data,
            content_type,
            user_properties,
            subscription_identifiers,
        } = self;
        payload_format_indicator.is_none()
            && message_expiry_interval.is_none()
            && topic_alias.is_none()
            && response_topic.is_none()
            && correlation_data.is_none()
            && content_type.is_none()
            && user_properties.is_empty()
            && subscription_identifiers.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        w_bool(s, P::PayloadFormatIndicator, self.payload_format_indicator);
        w_u32(s, P::MessageExpiryInterval, self.message_expiry_interval);
        w_u16(s, P::TopicAlias, self.topic_alias.map(|a| a.get()));
        write_response_topic(s, self.response_topic.as_ref())?;
        w_bin(s, P::CorrelationData, self.correlation_data.as_deref())?;
        w_user(s, &self.user_properties)?;
        for sid in &self.subscription_identifiers {
            w_varint(s, P::SubscriptionIdentifier, Some(*sid))?;
        }
        w_str(s, P::ContentType, os(&self.content_type))
    }
}

impl AckProperties {
    /// `packet` is the acknowledgement being decoded, for error reporting.
    pub(crate) fn decode(r: &mut Reader, packet: PacketType) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, packet)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::ReasonString => set_once(&mut o.reason_string, id, p.string()?)?,
                P::UserProperty => o.user_properties.push(p.pair()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(o)
    }
}

impl PropWrite for AckProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            reason_string,
            user_properties,
        } = self;
        reason_string.is_none() && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        w_str(s, P::ReasonString, os(&self.reason_string))?;
        w_user(s, &self.user_properties)
    }
}

impl SubscribeProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::Subscribe)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                // Only one Subscription Identifier per SUBSCRIBE (section 3.8.2.1.2).
                P::SubscriptionIdentifier => {
                    set_once(&mut o.subscription_identifier, id, p.subscription_id(id)?)?;
                }
                P::UserProperty => o.user_properties.push(p.pair()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(o)
    }
}

impl PropWrite for SubscribeProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            subscription_identifier,
            user_properties,
        } = self;
        subscription_identifier.is_none() && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        w_varint(s, P::SubscriptionIdentifier, self.subscription_identifier)?;
        w_user(s, &self.user_properties)
    }
}

impl UnsubscribeProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::Unsubscribe)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::UserProperty => o.user_properties.push(p.pair()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(o)
    }
}

impl PropWrite for UnsubscribeProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self { user_properties } = self;
        user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        w_user(s, &self.user_properties)
    }
}

impl DisconnectProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::Disconnect)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::SessionExpiryInterval => set_once(&mut o.session_expiry_interval, id, p.u32()?)?,
                P::ReasonString => set_once(&mut o.reason_string, id, p.string()?)?,
                P::UserProperty => o.user_properties.push(p.pair()?),
                P::ServerReference => set_once(&mut o.server_reference, id, p.string()?)?,
                other => return Err(p.not_allowed(other)),
            }
        }
        Ok(o)
    }
}

impl PropWrite for DisconnectProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            session_expiry_interval,
            reason_string,
            server_reference,
            user_properties,
        } = self;
        session_expiry_interval.is_none()
            && reason_string.is_none()
            && server_reference.is_none()
            && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        w_u32(s, P::SessionExpiryInterval, self.session_expiry_interval);
        w_str(s, P::ReasonString, os(&self.reason_string))?;
        w_user(s, &self.user_properties)?;
        w_str(s, P::ServerReference, os(&self.server_reference))
    }
}

impl AuthProperties {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let mut p = PropReader::new(r, PacketType::Auth)?;
        let mut o = Self::default();
        while let Some(id) = p.next_id()? {
            match id {
                P::AuthenticationMethod => set_once(&mut o.authentication_method, id, p.string()?)?,
                P::AuthenticationData => set_once(&mut o.authentication_data, id, p.binary()?)?,
                P::ReasonString => set_once(&mut o.reason_string, id, p.string()?)?,
                P::UserProperty => o.user_properties.push(p.pair()?),
                other => return Err(p.not_allowed(other)),
            }
        }
        if !check_auth_pair(&o.authentication_method, &o.authentication_data) {
            return Err(DecodeError::AuthDataWithoutMethod);
        }
        Ok(o)
    }
}

impl PropWrite for AuthProperties {
    fn all_absent(&self) -> bool {
        // No `..`: a new field fails to compile until it is checked here.
        let Self {
            authentication_method,
            authentication_data,
            reason_string,
            user_properties,
        } = self;
        authentication_method.is_none()
            && authentication_data.is_none()
            && reason_string.is_none()
            && user_properties.is_empty()
    }

    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError> {
        if !check_auth_pair(&self.authentication_method, &self.authentication_data) {
            return Err(EncodeError::AuthDataWithoutMethod);
        }
        w_str(s, P::AuthenticationMethod, os(&self.authentication_method))?;
        w_bin(
            s,
            P::AuthenticationData,
            self.authentication_data.as_deref(),
        )?;
        w_str(s, P::ReasonString, os(&self.reason_string))?;
        w_user(s, &self.user_properties)
    }
}
