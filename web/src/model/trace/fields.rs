//! Every decoded field of a packet, in wire order, and every property it carried, by the
//! names the specification uses — what an expanded trace row shows above the raw bytes.

use std::fmt::Display;

use tern_codec::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    Packet, PublishProperties, SubscribeProperties, UnsubscribeProperties, UserProperties,
    WillProperties,
};

use super::summary::{connack_reason, qos_words, suback_reason, words};
use crate::mqtt::tap::Tapped;
use crate::state::payload;
use crate::state::properties::bytes_in_words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

#[derive(Default)]
struct Fields(Vec<Field>);

impl Fields {
    fn add(&mut self, name: impl Into<String>, value: impl Display) {
        self.0.push(Field {
            name: name.into(),
            value: value.to_string(),
        });
    }

    fn opt(&mut self, name: &str, value: Option<impl Display>) {
        if let Some(v) = value {
            self.add(name, v);
        }
    }

    fn bytes(&mut self, name: &str, value: Option<&bytes::Bytes>) {
        if let Some(b) = value {
            self.add(name, bytes_in_words(b));
        }
    }

    fn flag(&mut self, name: &str, value: Option<bool>) {
        self.opt(name, value.map(|b| if b { "1" } else { "0" }));
    }

    fn users(&mut self, users: &UserProperties) {
        for (k, v) in users {
            self.add("User Property", format!("{k} = {v}"));
        }
    }
}

fn yes(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

/// The fixed header, then the packet's own fields and properties.
pub fn fields(t: &Tapped) -> Vec<Field> {
    let mut f = Fields::default();
    let ty = t.packet.packet_type();
    let first = t.raw.first().copied().unwrap_or_default();
    f.add("Packet type", format!("{} ({})", ty.name(), ty as u8));
    f.add("Fixed header flags", format!("{:04b}", first & 0x0F));
    let header = 1 + t.raw[1..].iter().take_while(|b| **b & 0x80 != 0).count() + 1;
    f.add(
        "Remaining Length",
        t.raw.len().saturating_sub(header.min(t.raw.len())),
    );
    let v = t.version;
    match &t.packet {
        Packet::Connect(c) => {
            f.add("Protocol", format!("MQTT {}", c.version));
            f.add("Clean Session / Clean Start", yes(c.clean_start));
            f.add("Keep Alive", format!("{} s", c.keep_alive));
            f.add("Client Identifier", format!("“{}”", c.client_id));
            if let Some(w) = &c.will {
                f.add("Will Topic", &w.topic);
                f.add("Will QoS", qos_words(w.qos));
                f.add("Will Retain", yes(w.retain));
                f.add("Will Payload", payload::render(&w.payload).body);
                will_props(&mut f, &w.properties);
            }
            f.opt("User Name", c.username.as_ref());
            // The password is never shown, only that one was sent and its length.
            f.opt(
                "Password",
                c.password
                    .as_ref()
                    .map(|p| format!("(hidden, {} bytes)", p.len())),
            );
            connect_props(&mut f, &c.properties);
        }
        Packet::ConnAck(a) => {
            f.add("Session Present", yes(a.session_present));
            let name = if v.is_v5() {
                "Reason Code"
            } else {
                "Return Code"
            };
            f.add(name, connack_reason(a.reason, v));
            connack_props(&mut f, &a.properties);
        }
        Packet::Publish(p) => {
            f.add("DUP", yes(p.dup));
            f.add("QoS", qos_words(p.qos_pid.qos()));
            f.add("RETAIN", yes(p.retain));
            f.add("Topic Name", &p.topic);
            f.opt("Packet Identifier", p.qos_pid.pid().map(|x| x.get()));
            publish_props(&mut f, &p.properties);
            let r = payload::render(&p.payload);
            f.add(
                "Payload",
                format!(
                    "{} ({}, {})",
                    r.body,
                    r.format.label(),
                    payload::human_size(p.payload.len())
                ),
            );
        }
        Packet::PubAck(r) | Packet::PubRec(r) | Packet::PubRel(r) | Packet::PubComp(r) => {
            f.add("Packet Identifier", r.pid.get());
            if v.is_v5() {
                f.add("Reason Code", words(r.reason));
                ack_props(&mut f, &r.properties);
            }
        }
        Packet::Subscribe(s) => {
            f.add("Packet Identifier", s.pid.get());
            subscribe_props(&mut f, &s.properties);
            for (filter, o) in &s.filters {
                let mut opts = qos_words(o.qos);
                if v.is_v5() {
                    opts.push_str(&format!(
                        ", No Local {}, Retain As Published {}, Retain Handling {}",
                        yes(o.no_local),
                        yes(o.retain_as_published),
                        o.retain_handling as u8
                    ));
                }
                f.add("Topic Filter", format!("{filter} ({opts})"));
            }
        }
        Packet::SubAck(a) => {
            f.add("Packet Identifier", a.pid.get());
            ack_props(&mut f, &a.properties);
            for r in &a.reasons {
                f.add("Return Code", suback_reason(*r, v));
            }
        }
        Packet::Unsubscribe(u) => {
            f.add("Packet Identifier", u.pid.get());
            unsubscribe_props(&mut f, &u.properties);
            for filter in &u.filters {
                f.add("Topic Filter", filter);
            }
        }
        Packet::UnsubAck(a) => {
            f.add("Packet Identifier", a.pid.get());
            if v.is_v5() {
                ack_props(&mut f, &a.properties);
                for r in &a.reasons {
                    f.add("Reason Code", words(*r));
                }
            }
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => {
            if v.is_v5() {
                f.add("Reason Code", words(d.reason));
                disconnect_props(&mut f, &d.properties);
            }
        }
        Packet::Auth(a) => {
            f.add("Reason Code", words(a.reason));
            auth_props(&mut f, &a.properties);
        }
    }
    f.0
}

/// The raw bytes as a hex dump with offsets and an ASCII column.
pub fn hex(t: &Tapped) -> String {
    payload::hex_dump(&t.raw)
}

fn connect_props(f: &mut Fields, p: &ConnectProperties) {
    f.opt(
        "Session Expiry Interval",
        p.session_expiry_interval.map(|s| format!("{s} s")),
    );
    f.opt("Receive Maximum", p.receive_maximum);
    f.opt("Maximum Packet Size", p.maximum_packet_size);
    f.opt("Topic Alias Maximum", p.topic_alias_maximum);
    f.flag(
        "Request Response Information",
        p.request_response_information,
    );
    f.flag("Request Problem Information", p.request_problem_information);
    f.users(&p.user_properties);
    f.opt("Authentication Method", p.authentication_method.as_ref());
    f.bytes("Authentication Data", p.authentication_data.as_ref());
}

fn will_props(f: &mut Fields, p: &WillProperties) {
    f.opt(
        "Will Delay Interval",
        p.will_delay_interval.map(|s| format!("{s} s")),
    );
    f.flag("Will Payload Format Indicator", p.payload_format_indicator);
    f.opt(
        "Will Message Expiry Interval",
        p.message_expiry_interval.map(|s| format!("{s} s")),
    );
    f.opt("Will Content Type", p.content_type.as_ref());
    f.opt("Will Response Topic", p.response_topic.as_ref());
    f.bytes("Will Correlation Data", p.correlation_data.as_ref());
    f.users(&p.user_properties);
}

fn connack_props(f: &mut Fields, p: &ConnAckProperties) {
    f.opt(
        "Session Expiry Interval",
        p.session_expiry_interval.map(|s| format!("{s} s")),
    );
    f.opt("Receive Maximum", p.receive_maximum);
    f.opt("Maximum QoS", p.maximum_qos.map(qos_words));
    f.flag("Retain Available", p.retain_available);
    f.opt("Maximum Packet Size", p.maximum_packet_size);
    f.opt(
        "Assigned Client Identifier",
        p.assigned_client_identifier.as_ref(),
    );
    f.opt("Topic Alias Maximum", p.topic_alias_maximum);
    f.opt("Reason String", p.reason_string.as_ref());
    f.users(&p.user_properties);
    f.flag(
        "Wildcard Subscription Available",
        p.wildcard_subscription_available,
    );
    f.flag(
        "Subscription Identifiers Available",
        p.subscription_identifiers_available,
    );
    f.flag(
        "Shared Subscription Available",
        p.shared_subscription_available,
    );
    f.opt(
        "Server Keep Alive",
        p.server_keep_alive.map(|s| format!("{s} s")),
    );
    f.opt("Response Information", p.response_information.as_ref());
    f.opt("Server Reference", p.server_reference.as_ref());
    f.opt("Authentication Method", p.authentication_method.as_ref());
    f.bytes("Authentication Data", p.authentication_data.as_ref());
}

fn publish_props(f: &mut Fields, p: &PublishProperties) {
    f.flag("Payload Format Indicator", p.payload_format_indicator);
    f.opt(
        "Message Expiry Interval",
        p.message_expiry_interval.map(|s| format!("{s} s")),
    );
    f.opt("Topic Alias", p.topic_alias);
    f.opt("Response Topic", p.response_topic.as_ref());
    f.bytes("Correlation Data", p.correlation_data.as_ref());
    f.users(&p.user_properties);
    for id in &p.subscription_identifiers {
        f.add("Subscription Identifier", id);
    }
    f.opt("Content Type", p.content_type.as_ref());
}

fn ack_props(f: &mut Fields, p: &AckProperties) {
    f.opt("Reason String", p.reason_string.as_ref());
    f.users(&p.user_properties);
}

fn subscribe_props(f: &mut Fields, p: &SubscribeProperties) {
    f.opt("Subscription Identifier", p.subscription_identifier);
    f.users(&p.user_properties);
}

fn unsubscribe_props(f: &mut Fields, p: &UnsubscribeProperties) {
    f.users(&p.user_properties);
}

fn disconnect_props(f: &mut Fields, p: &DisconnectProperties) {
    f.opt(
        "Session Expiry Interval",
        p.session_expiry_interval.map(|s| format!("{s} s")),
    );
    f.opt("Reason String", p.reason_string.as_ref());
    f.users(&p.user_properties);
    f.opt("Server Reference", p.server_reference.as_ref());
}

fn auth_props(f: &mut Fields, p: &AuthProperties) {
    f.opt("Authentication Method", p.authentication_method.as_ref());
    f.bytes("Authentication Data", p.authentication_data.as_ref());
    f.opt("Reason String", p.reason_string.as_ref());
    f.users(&p.user_properties);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trace::tests::{tapped, tapped_in};
    use crate::mqtt::tap::Direction;
    use bytes::Bytes;
    use tern_codec::{Connect, LastWill, Pid, Publish, QoS, QosPid, TopicName, Version};

    fn find<'a>(fs: &'a [Field], name: &str) -> Vec<&'a str> {
        fs.iter()
            .filter(|f| f.name == name)
            .map(|f| f.value.as_str())
            .collect()
    }

    #[test]
    fn connect_shows_every_field_but_never_the_password() {
        let mut c = Connect::new(Version::V3_1_1, "ann");
        c.keep_alive = 30;
        c.username = Some("teacher".into());
        c.password = Some(Bytes::from_static(b"chalk-42"));
        c.will = Some(LastWill {
            topic: TopicName::new("class/ann/status").unwrap(),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Default::default(),
        });
        let t = tapped(Direction::Sent, 0, Packet::Connect(Box::new(c)));
        let fs = fields(&t);
        assert_eq!(find(&fs, "Packet type"), ["CONNECT (1)"]);
        assert_eq!(find(&fs, "Client Identifier"), ["“ann”"]);
        assert_eq!(find(&fs, "Keep Alive"), ["30 s"]);
        assert_eq!(find(&fs, "Will Topic"), ["class/ann/status"]);
        assert_eq!(find(&fs, "Will QoS"), ["QoS 1"]);
        assert_eq!(find(&fs, "User Name"), ["teacher"]);
        assert_eq!(find(&fs, "Password"), ["(hidden, 8 bytes)"]);
        assert!(fs.iter().all(|f| !f.value.contains("chalk")), "{fs:?}");
        assert_eq!(
            find(&fs, "Remaining Length"),
            [(t.raw.len() - 2).to_string().as_str()]
        );
    }

    #[test]
    fn publish_lists_flags_properties_and_payload_mqtt_3_3_2_3() {
        let mut p = Publish::new(
            TopicName::new("s/t").unwrap(),
            QosPid::AtLeastOnce(Pid::new(5).unwrap()),
            Bytes::from_static(b"21.5"),
        );
        p.retain = true;
        p.properties.content_type = Some("text/plain".into());
        p.properties.user_properties = vec![("unit".into(), "C".into())];
        let t = tapped_in(Version::V5, Direction::Received, 0, Packet::Publish(p));
        let fs = fields(&t);
        assert_eq!(find(&fs, "Fixed header flags"), ["0011"], "QoS 1 + RETAIN");
        assert_eq!(find(&fs, "Packet Identifier"), ["5"]);
        assert_eq!(find(&fs, "Content Type"), ["text/plain"]);
        assert_eq!(find(&fs, "User Property"), ["unit = C"]);
        assert_eq!(find(&fs, "Payload"), ["21.5 (text, 4 B)"]);
        assert!(hex(&t).starts_with("00000000  33 "), "{}", hex(&t));
    }
}
