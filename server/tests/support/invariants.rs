//! What must hold for *every* packet a broker sends, checked once here for every test
//! instead of in each: the first packet is CONNACK [MQTT-3.2.0-1], no packet exceeds the
//! Maximum Packet Size the client announced [MQTT-3.1.2-24], Topic Aliases stay within the
//! Topic Alias Maximum it announced [MQTT-3.1.2-26]/[MQTT-3.1.2-27], and an empty topic only
//! comes with a known alias (which is resolved, so tests see the topic).

use std::collections::HashMap;

use tern_codec::{Connect, Packet, TopicName};

#[derive(Default)]
pub(super) struct Invariants {
    got_first_packet: bool,
    max_packet_size: Option<u32>,
    topic_alias_max: u16,
    aliases: HashMap<u16, TopicName>,
}

impl Invariants {
    /// Takes the limits the client announces in `connect`.
    pub(super) fn announce(&mut self, connect: &Connect) {
        self.max_packet_size = connect.properties.maximum_packet_size;
        self.topic_alias_max = connect.properties.topic_alias_maximum.unwrap_or(0);
    }

    /// Checks `packet` (`size` bytes on the wire) from the server; returns it with a Topic
    /// Alias resolved. `name` is the client's, for the failure message.
    pub(super) fn check(&mut self, name: &str, mut packet: Packet, size: usize) -> Packet {
        if !self.got_first_packet {
            self.got_first_packet = true;
            assert!(
                matches!(packet, Packet::ConnAck(_)),
                "{name}: [MQTT-3.2.0-1] the first packet from the server must be CONNACK, got {packet:?}"
            );
        }
        if let Some(max) = self.max_packet_size {
            assert!(
                size <= max as usize,
                "{name}: [MQTT-3.1.2-24] server sent a {size}-byte packet, our maximum is {max}: {packet:?}"
            );
        }
        if let Packet::Publish(p) = &mut packet {
            if let Some(alias) = p.properties.topic_alias {
                let a = alias.get();
                assert!(
                    a <= self.topic_alias_max,
                    "{name}: [MQTT-3.1.2-26]/[MQTT-3.1.2-27] topic alias {a} > our maximum {}",
                    self.topic_alias_max
                );
                if p.topic.is_empty() {
                    let known = self.aliases.get(&a).unwrap_or_else(|| {
                        panic!("{name}: [MQTT-3.3.2-?] unknown topic alias {a}")
                    });
                    p.topic = known.clone();
                } else {
                    self.aliases.insert(a, p.topic.clone());
                }
            } else {
                assert!(
                    !p.topic.is_empty(),
                    "{name}: PUBLISH with empty topic and no alias"
                );
            }
        }
        packet
    }
}
