//! One packet as one row of the trace: its type in capitals, packet identifier, the PUBLISH
//! flags, the reason code in words, and a short detail (topic, filters, client id).

use std::fmt::Write;

use tern_codec::{ConnectReturnCode, Packet, QoS, ReasonCode, Version};

use crate::mqtt::tap::Tapped;
use crate::state::payload::preview;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// CONNECT, CONNACK, PUBLISH … as the specification spells them.
    pub name: &'static str,
    pub pid: Option<u16>,
    /// PUBLISH's QoS, DUP and RETAIN ([MQTT-3.3.1]); empty for other packets.
    pub flags: String,
    /// The reason code(s) in words, when the packet carries any.
    pub reason: Option<String>,
    /// What the packet is about, in a few words.
    pub detail: String,
}

pub fn summarize(t: &Tapped) -> Summary {
    let v = t.version;
    let name = t.packet.packet_type().name();
    let (pid, flags, reason, detail) = match &t.packet {
        Packet::Connect(c) => {
            let mut d = format!("client id “{}”, keep-alive {} s", c.client_id, c.keep_alive);
            d.push_str(if c.clean_start {
                ", clean"
            } else {
                ", persistent"
            });
            if let Some(w) = &c.will {
                let _ = write!(d, ", will on {}", w.topic);
            }
            (None, String::new(), None, d)
        }
        Packet::ConnAck(a) => {
            let d = if a.session_present {
                "session present"
            } else {
                "no session present"
            };
            (
                None,
                String::new(),
                Some(connack_reason(a.reason, v)),
                d.into(),
            )
        }
        Packet::Publish(p) => {
            let mut flags = format!("QoS {}", p.qos_pid.qos() as u8);
            if p.dup {
                flags.push_str(" DUP");
            }
            if p.retain {
                flags.push_str(" RETAIN");
            }
            let detail = format!("{} · {}", p.topic, preview(&p.payload, 40));
            (p.qos_pid.pid().map(|x| x.get()), flags, None, detail)
        }
        Packet::PubAck(r) | Packet::PubRec(r) | Packet::PubRel(r) | Packet::PubComp(r) => (
            Some(r.pid.get()),
            String::new(),
            v.is_v5().then(|| words(r.reason)),
            String::new(),
        ),
        Packet::Subscribe(s) => {
            let d = s
                .filters
                .iter()
                .map(|(f, o)| format!("{f} (QoS {})", o.qos as u8))
                .collect::<Vec<_>>()
                .join(", ");
            (Some(s.pid.get()), String::new(), None, d)
        }
        Packet::SubAck(a) => {
            let r = a
                .reasons
                .iter()
                .map(|r| suback_reason(*r, v))
                .collect::<Vec<_>>()
                .join(", ");
            (Some(a.pid.get()), String::new(), Some(r), String::new())
        }
        Packet::Unsubscribe(u) => {
            let d = u
                .filters
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            (Some(u.pid.get()), String::new(), None, d)
        }
        Packet::UnsubAck(a) => {
            let r = v.is_v5().then(|| {
                a.reasons
                    .iter()
                    .map(|r| words(*r))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            (Some(a.pid.get()), String::new(), r, String::new())
        }
        Packet::PingReq => (None, String::new(), None, "are you there?".into()),
        Packet::PingResp => (None, String::new(), None, "yes".into()),
        Packet::Disconnect(d) => (
            None,
            String::new(),
            v.is_v5().then(|| words(d.reason)),
            String::new(),
        ),
        Packet::Auth(a) => (None, String::new(), Some(words(a.reason)), String::new()),
    };
    Summary {
        name,
        pid,
        flags,
        reason,
        detail,
    }
}

/// `0x87 not authorized`.
pub fn words(r: ReasonCode) -> String {
    format!("0x{:02X} {}", r.value(), r.description())
}

/// CONNACK's answer: an MQTT 5 reason code, or a 3.x return code (3.1.1 table 3.1).
pub fn connack_reason(r: ReasonCode, v: Version) -> String {
    if v.is_v5() {
        return words(r);
    }
    let code = ConnectReturnCode::from(r);
    let text = match code {
        ConnectReturnCode::Accepted => "connection accepted",
        ConnectReturnCode::UnacceptableProtocolVersion => "unacceptable protocol version",
        ConnectReturnCode::IdentifierRejected => "identifier rejected",
        ConnectReturnCode::ServerUnavailable => "server unavailable",
        ConnectReturnCode::BadUserNameOrPassword => "bad user name or password",
        ConnectReturnCode::NotAuthorized => "not authorized",
    };
    format!("{} {text}", code as u8)
}

/// A SUBACK return code: granted QoS, or a refusal (3.x has only 0x80, "failure").
pub fn suback_reason(r: ReasonCode, v: Version) -> String {
    match r {
        ReasonCode::Success => "granted QoS 0".into(),
        ReasonCode::GrantedQoS1 => "granted QoS 1".into(),
        ReasonCode::GrantedQoS2 => "granted QoS 2".into(),
        other if !v.is_v5() => format!("0x{:02X} failure", other.value()),
        other => words(other),
    }
}

/// `QoS 2` from a number, for the detail lines.
pub fn qos_words(q: QoS) -> String {
    format!("QoS {}", q as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trace::tests::tapped;
    use crate::mqtt::tap::Direction;
    use bytes::Bytes;
    use tern_codec::{
        ConnAck, Connect, Pid, PubResp, Publish, QosPid, SubAck, Subscribe, SubscriptionOptions,
        TopicFilter, TopicName,
    };

    fn sum(p: Packet) -> Summary {
        summarize(&tapped(Direction::Sent, 0, p))
    }

    #[test]
    fn publish_rows_carry_id_flags_topic_and_preview_mqtt_3_3_1() {
        let mut p = Publish::new(
            TopicName::new("class/t").unwrap(),
            QosPid::ExactlyOnce(Pid::new(7).unwrap()),
            Bytes::from_static(b"{\"t\":\n21.5}"),
        );
        p.dup = true;
        p.retain = true;
        let s = sum(Packet::Publish(p));
        assert_eq!(s.name, "PUBLISH");
        assert_eq!(s.pid, Some(7));
        assert_eq!(s.flags, "QoS 2 DUP RETAIN");
        assert_eq!(s.detail, "class/t · {\"t\": 21.5}");
        assert_eq!(s.reason, None);
    }

    #[test]
    fn reasons_in_words_per_version() {
        let mut t = tapped(
            Direction::Received,
            0,
            Packet::ConnAck(ConnAck::new(false, ReasonCode::BadUserNameOrPassword)),
        );
        assert_eq!(
            summarize(&t).reason.as_deref(),
            Some("4 bad user name or password")
        );
        t.version = Version::V5;
        assert_eq!(
            summarize(&t).reason.as_deref(),
            Some("0x86 bad user name or password")
        );
        let ack = SubAck {
            pid: Pid::new(3).unwrap(),
            reasons: vec![ReasonCode::GrantedQoS1, ReasonCode::UnspecifiedError],
            properties: Default::default(),
        };
        let s = sum(Packet::SubAck(ack));
        assert_eq!(s.name, "SUBACK");
        assert_eq!(s.reason.as_deref(), Some("granted QoS 1, 0x80 failure"));
        // PUBACK has no reason code before MQTT 5.
        assert_eq!(
            sum(Packet::PubAck(PubResp::new(Pid::new(1).unwrap()))).reason,
            None
        );
    }

    #[test]
    fn every_type_is_named_in_capitals() {
        let c = Connect::new(Version::V3_1_1, "kid");
        let s = sum(Packet::Connect(Box::new(c)));
        assert_eq!(s.name, "CONNECT");
        assert!(
            s.detail.contains("“kid”") && s.detail.contains("clean"),
            "{}",
            s.detail
        );
        let sub = Subscribe {
            pid: Pid::new(2).unwrap(),
            filters: vec![(
                TopicFilter::new("a/#").unwrap(),
                SubscriptionOptions::new(QoS::AtLeastOnce),
            )],
            properties: Default::default(),
        };
        assert_eq!(sum(Packet::Subscribe(sub)).detail, "a/# (QoS 1)");
        assert_eq!(sum(Packet::PingReq).name, "PINGREQ");
        assert_eq!(sum(Packet::PingResp).name, "PINGRESP");
    }
}
