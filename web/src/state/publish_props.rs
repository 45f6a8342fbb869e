//! The MQTT 5 properties a user can attach to a PUBLISH from the Publish panel (section
//! 3.3.2.3): Content Type, Payload Format Indicator, Message Expiry Interval, Response Topic,
//! Correlation Data and User Properties. Fields stay text while edited; [`PublishPropsForm::
//! validate`] turns them into codec properties or says, per field, what is wrong.

use bytes::Bytes;
use bytestring::ByteString;
use tern_codec::{Props, PublishProperties, TopicName, Version};

use crate::settings::FieldError;

/// Largest UTF-8 string or binary data a property can hold: a two-byte length prefix
/// (sections 1.5.4 and 1.5.6).
pub const MAX_FIELD_BYTES: usize = 65_535;

/// One User Property row; `id` keys the row in the view so edits keep focus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: u64,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishPropsForm {
    pub content_type: String,
    /// Payload Format Indicator = 1: the payload is UTF-8 text (what the Message box holds).
    pub payload_utf8: bool,
    /// Message Expiry Interval, seconds; empty means the message does not expire.
    pub expiry: String,
    pub response_topic: String,
    /// Sent as the bytes of the UTF-8 text.
    pub correlation: String,
    pub user: Vec<UserRow>,
    next_id: u64,
}

impl PublishPropsForm {
    /// Adds an empty User Property row at the end.
    pub fn add_user_row(&mut self) {
        self.next_id += 1;
        self.user.push(UserRow {
            id: self.next_id,
            name: String::new(),
            value: String::new(),
        });
    }

    pub fn remove_user_row(&mut self, id: u64) {
        self.user.retain(|r| r.id != id);
    }

    /// Edits a row's name (`value == false`) or value.
    pub fn set_user(&mut self, id: u64, value: bool, text: String) {
        if let Some(row) = self.user.iter_mut().find(|r| r.id == id) {
            if value {
                row.value = text;
            } else {
                row.name = text;
            }
        }
    }

    /// The properties to send. Properties exist only in MQTT 5, where the panel shows these
    /// fields; for an older `version` nothing is shown and nothing is sent.
    pub fn validate(&self, version: Version) -> Result<Props<PublishProperties>, Vec<FieldError>> {
        if !version.is_v5() {
            return Ok(Props::none());
        }
        let mut errors = Vec::new();
        let mut err = |field, message: String| errors.push(FieldError { field, message });
        let mut p = PublishProperties::default();

        if !self.content_type.is_empty() {
            match utf8_string(&self.content_type) {
                Ok(s) => p.content_type = Some(s),
                Err(why) => err("pub_content_type", format!("Content Type {why}")),
            }
        }
        p.payload_format_indicator = self.payload_utf8.then_some(true);
        let expiry = self.expiry.trim();
        if !expiry.is_empty() {
            // Section 3.3.2.3.3: a Four Byte Integer of seconds.
            match expiry.parse::<u32>() {
                Ok(secs) => p.message_expiry_interval = Some(secs),
                Err(_) => err(
                    "pub_expiry",
                    "Message Expiry Interval is a whole number of seconds from 0 to 4294967295."
                        .into(),
                ),
            }
        }
        if !self.response_topic.is_empty() {
            if self.response_topic.contains(['+', '#']) {
                // [MQTT-3.3.2-14]: the Response Topic is a topic name, without wildcards.
                err(
                    "pub_response_topic",
                    "Response Topic is a topic name: wildcards (+ and #) are not allowed.".into(),
                );
            } else {
                // [MQTT-3.3.2-13]: a UTF-8 Encoded String that is a valid topic name.
                match TopicName::new(self.response_topic.as_str()) {
                    Ok(t) => p.response_topic = Some(t),
                    Err(e) => err("pub_response_topic", format!("Response Topic: {e}.")),
                }
            }
        }
        if !self.correlation.is_empty() {
            if self.correlation.len() > MAX_FIELD_BYTES {
                err(
                    "pub_correlation",
                    format!("Correlation Data is at most {MAX_FIELD_BYTES} bytes."),
                );
            } else {
                p.correlation_data = Some(Bytes::copy_from_slice(self.correlation.as_bytes()));
            }
        }
        for (i, row) in self.user.iter().enumerate() {
            if row.name.is_empty() && row.value.is_empty() {
                continue; // a row just added and not filled in is not a property
            }
            let n = i + 1;
            if row.name.is_empty() {
                err("pub_user", format!("User property {n} needs a name."));
                continue;
            }
            match (utf8_string(&row.name), utf8_string(&row.value)) {
                // [MQTT-3.3.2-17]/[MQTT-3.3.2-18]: sent in order; names may repeat.
                (Ok(k), Ok(v)) => p.user_properties.push((k, v)),
                (Err(why), _) => err("pub_user", format!("User property {n}: the name {why}")),
                (_, Err(why)) => err("pub_user", format!("User property {n}: the value {why}")),
            }
        }
        if errors.is_empty() {
            Ok(p.into())
        } else {
            Err(errors)
        }
    }
}

/// A UTF-8 Encoded String field: no U+0000 ([MQTT-1.5.4-2]) and at most 65,535 bytes
/// (section 1.5.4). The error completes a sentence that starts with the field's name.
fn utf8_string(s: &str) -> Result<ByteString, String> {
    if s.contains('\0') {
        return Err("cannot contain the null character (U+0000).".into());
    }
    if s.len() > MAX_FIELD_BYTES {
        return Err(format!("is at most {MAX_FIELD_BYTES} bytes in UTF-8."));
    }
    Ok(ByteString::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PublishPropsForm {
        let mut f = PublishPropsForm {
            content_type: "application/json".into(),
            payload_utf8: true,
            expiry: " 60 ".into(),
            response_topic: "reply/ann".into(),
            correlation: "req-1".into(),
            ..Default::default()
        };
        for (name, value) in [("unit", "C"), ("unit", "F")] {
            f.add_user_row();
            let id = f.user.last().unwrap().id;
            f.set_user(id, false, name.into());
            f.set_user(id, true, value.into());
        }
        f
    }

    fn fields(r: Result<Props<PublishProperties>, Vec<FieldError>>) -> Vec<&'static str> {
        r.unwrap_err().iter().map(|e| e.field).collect()
    }

    #[test]
    fn every_field_becomes_a_property_mqtt_3_3_2_18() {
        let p = form().validate(Version::V5).unwrap();
        assert_eq!(p.content_type.as_deref(), Some("application/json"));
        assert_eq!(p.payload_format_indicator, Some(true));
        assert_eq!(p.message_expiry_interval, Some(60));
        assert_eq!(
            p.response_topic.as_ref().map(|t| t.as_str()),
            Some("reply/ann")
        );
        assert_eq!(p.correlation_data.as_deref(), Some(&b"req-1"[..]));
        let user: Vec<(&str, &str)> = p
            .user_properties
            .iter()
            .map(|(k, v)| (&**k, &**v))
            .collect();
        assert_eq!(
            user,
            [("unit", "C"), ("unit", "F")],
            "order and repeats kept"
        );
    }

    #[test]
    fn empty_form_sends_no_property_block() {
        let mut f = PublishPropsForm::default();
        f.add_user_row(); // added, never filled in
        assert_eq!(f.validate(Version::V5).unwrap(), Props::none());
    }

    #[test]
    fn older_versions_send_no_properties() {
        for v in [Version::V3_1, Version::V3_1_1] {
            assert_eq!(form().validate(v).unwrap(), Props::none());
        }
    }

    #[test]
    fn response_topic_must_be_a_topic_name_mqtt_3_3_2_14() {
        for bad in ["reply/+", "reply/#"] {
            let f = PublishPropsForm {
                response_topic: bad.into(),
                ..form()
            };
            assert_eq!(fields(f.validate(Version::V5)), ["pub_response_topic"]);
        }
        let f = PublishPropsForm {
            response_topic: "a\0b".into(),
            ..form()
        };
        assert_eq!(fields(f.validate(Version::V5)), ["pub_response_topic"]);
    }

    #[test]
    fn expiry_is_a_four_byte_integer() {
        for bad in ["-1", "4294967296", "1.5", "soon"] {
            let f = PublishPropsForm {
                expiry: bad.into(),
                ..form()
            };
            assert_eq!(fields(f.validate(Version::V5)), ["pub_expiry"], "{bad}");
        }
        let max = PublishPropsForm {
            expiry: "4294967295".into(),
            ..form()
        };
        assert_eq!(
            max.validate(Version::V5).unwrap().message_expiry_interval,
            Some(u32::MAX)
        );
    }

    #[test]
    fn strings_reject_null_and_oversize_mqtt_1_5_4_2() {
        let f = PublishPropsForm {
            content_type: "text\0plain".into(),
            correlation: "x".repeat(MAX_FIELD_BYTES + 1),
            ..form()
        };
        assert_eq!(
            fields(f.validate(Version::V5)),
            ["pub_content_type", "pub_correlation"]
        );
        let mut f = form();
        let id = f.user[1].id;
        f.set_user(id, true, "y".repeat(MAX_FIELD_BYTES + 1));
        let errors = f.validate(Version::V5).unwrap_err();
        assert_eq!(
            errors[0].message,
            "User property 2: the value is at most 65535 bytes in UTF-8."
        );
    }

    #[test]
    fn user_rows_need_a_name_and_can_be_removed() {
        let mut f = form();
        let first = f.user[0].id;
        f.set_user(first, false, String::new());
        let errors = f.validate(Version::V5).unwrap_err();
        assert_eq!(errors[0].message, "User property 1 needs a name.");
        f.remove_user_row(first);
        let p = f.validate(Version::V5).unwrap();
        assert_eq!(p.user_properties.len(), 1);
        f.add_user_row();
        assert!(f.user[1].id > f.user[0].id, "row ids are not reused");
    }
}
