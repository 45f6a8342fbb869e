//! MQTT 5 properties of a received PUBLISH, in words for the message list (section 3.3.2.3).
//! Only what the sender or broker set is listed, in the order of the specification.

use tern_codec::PublishProperties;

/// One `<dt>`/`<dd>` pair of the list under a message's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropLine {
    pub name: &'static str,
    pub value: String,
}

/// The properties worth showing, in words; empty when the PUBLISH carried none. The Topic
/// Alias is not listed: the session refuses one we never allowed ([MQTT-3.3.2-8]).
pub fn describe(p: &PublishProperties) -> Vec<PropLine> {
    let mut lines = Vec::new();
    let mut add = |name, value: String| lines.push(PropLine { name, value });
    if let Some(ct) = &p.content_type {
        add("Content Type", ct.to_string());
    }
    if let Some(utf8) = p.payload_format_indicator {
        // Section 3.3.2.3.2: 1 = UTF-8 encoded character data, 0 = unspecified bytes.
        let value = if utf8 { "UTF-8" } else { "unspecified bytes" };
        add("Payload Format", value.to_owned());
    }
    if let Some(secs) = p.message_expiry_interval {
        // [MQTT-3.3.2-6]: the broker forwards what is left of the lifetime.
        add("Message Expiry", format!("{secs} s"));
    }
    if let Some(topic) = &p.response_topic {
        add("Response Topic", topic.to_string());
    }
    if let Some(data) = &p.correlation_data {
        add("Correlation Data", bytes_in_words(data));
    }
    for (key, value) in &p.user_properties {
        // [MQTT-3.3.2-18]: names may repeat and their order is kept, so one line per pair.
        add("User Property", format!("{key} = {value}"));
    }
    if !p.subscription_identifiers.is_empty() {
        // [MQTT-3.3.4-3]: one identifier per matching subscription that had one.
        let ids: Vec<String> = p
            .subscription_identifiers
            .iter()
            .map(ToString::to_string)
            .collect();
        let name = if ids.len() == 1 {
            "Subscription Identifier"
        } else {
            "Subscription Identifiers"
        };
        add(name, ids.join(", "));
    }
    lines
}

/// Binary data as text when it is UTF-8 without control characters, else as hex bytes
/// (`hex 00 ff …`), so that nothing invisible or misleading reaches the page.
pub fn bytes_in_words(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
        _ => {
            let mut s = String::with_capacity(4 + data.len() * 3);
            s.push_str("hex");
            for b in data {
                s.push_str(&format!(" {b:02x}"));
            }
            s
        }
    }
}

/// Bytes the properties hold (strings and binary data), counted against the message log's
/// memory bound with the payload.
pub fn heap_bytes(p: &PublishProperties) -> usize {
    p.content_type.as_ref().map_or(0, |s| s.len())
        + p.response_topic.as_ref().map_or(0, |t| t.as_str().len())
        + p.correlation_data.as_ref().map_or(0, |d| d.len())
        + p.user_properties
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
        + p.subscription_identifiers.len() * 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::num::NonZeroU32;
    use tern_codec::TopicName;

    fn names_and_values(lines: &[PropLine]) -> Vec<(&str, &str)> {
        lines.iter().map(|l| (l.name, l.value.as_str())).collect()
    }

    #[test]
    fn no_properties_no_lines() {
        assert!(describe(&PublishProperties::default()).is_empty());
    }

    #[test]
    fn every_property_is_listed_in_spec_order_mqtt_3_3_2_18() {
        let p = PublishProperties {
            payload_format_indicator: Some(true),
            message_expiry_interval: Some(59),
            response_topic: Some(TopicName::new("reply/here").unwrap()),
            correlation_data: Some(Bytes::from_static(b"req-7")),
            user_properties: vec![
                ("unit".into(), "C".into()),
                ("unit".into(), "F".into()),
                ("room".into(), "a = b".into()),
            ],
            subscription_identifiers: vec![NonZeroU32::new(3).unwrap()],
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        assert_eq!(
            names_and_values(&describe(&p)),
            [
                ("Content Type", "application/json"),
                ("Payload Format", "UTF-8"),
                ("Message Expiry", "59 s"),
                ("Response Topic", "reply/here"),
                ("Correlation Data", "req-7"),
                ("User Property", "unit = C"),
                ("User Property", "unit = F"),
                ("User Property", "room = a = b"),
                ("Subscription Identifier", "3"),
            ]
        );
        assert_eq!(
            heap_bytes(&p),
            16 + 10 + 5 + (5 + 5 + 9) + 4,
            "strings, binary data and identifiers"
        );
    }

    #[test]
    fn several_subscription_identifiers_share_a_line_mqtt_3_3_4_3() {
        let p = PublishProperties {
            subscription_identifiers: vec![
                NonZeroU32::new(1).unwrap(),
                NonZeroU32::new(42).unwrap(),
            ],
            payload_format_indicator: Some(false),
            ..Default::default()
        };
        assert_eq!(
            names_and_values(&describe(&p)),
            [
                ("Payload Format", "unspecified bytes"),
                ("Subscription Identifiers", "1, 42")
            ]
        );
    }

    #[test]
    fn correlation_data_is_text_when_utf8_else_hex() {
        assert_eq!(bytes_in_words("ключ-1".as_bytes()), "ключ-1");
        assert_eq!(bytes_in_words(&[0x00, 0xff, 0x10]), "hex 00 ff 10");
        assert_eq!(
            bytes_in_words(b"bell\x07"),
            "hex 62 65 6c 6c 07",
            "control char"
        );
        assert_eq!(bytes_in_words(b""), "");
    }
}
