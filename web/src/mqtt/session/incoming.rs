//! What the session does with each packet from the broker.

use tern_codec::{
    ConnAck, Disconnect, Packet, Pid, PubResp, Publish, QoS, QosPid, ReasonCode, SubAck, UnsubAck,
    Version,
};

use super::{Event, Flight, MAX_INFLIGHT, Phase, Session, SessionError};

impl Session {
    /// Process one packet from the broker.
    pub fn handle(&mut self, packet: Packet, _now: u64) -> Result<Vec<Event>, SessionError> {
        if let Phase::AwaitingConnAck { .. } = self.phase {
            return match packet {
                Packet::ConnAck(ack) => self.on_connack(ack),
                // v5 allows a DISCONNECT instead of CONNACK only as an answer to AUTH; treat
                // it like a refusal so the reason reaches the user.
                Packet::Disconnect(d) => Err(server_disconnect(d)),
                other => Err(SessionError::Protocol(format!(
                    "[MQTT-3.2.0-1] the broker sent {} before CONNACK",
                    other.packet_type()
                ))),
            };
        }
        if self.phase != Phase::Connected {
            return Ok(Vec::new()); // a straggler after we gave up on the connection
        }
        match packet {
            Packet::Publish(p) => self.on_publish(p),
            Packet::PubAck(r) => Ok(self.on_puback(r)),
            Packet::PubRec(r) => Ok(self.on_pubrec(r)),
            Packet::PubRel(r) => Ok(self.on_pubrel(r)),
            Packet::PubComp(r) => Ok(self.on_pubcomp(r)),
            Packet::SubAck(a) => self.on_suback(a),
            Packet::UnsubAck(a) => Ok(self.on_unsuback(a)),
            Packet::PingResp => {
                self.ping_sent = None;
                Ok(Vec::new())
            }
            Packet::Disconnect(d) => Err(server_disconnect(d)),
            other @ (Packet::ConnAck(_)
            | Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::Auth(_)) => Err(SessionError::Protocol(format!(
                "the broker sent {}, which a server never sends to a connected client \
                 (section 2.1.2)",
                other.packet_type()
            ))),
        }
    }

    fn on_connack(&mut self, ack: ConnAck) -> Result<Vec<Event>, SessionError> {
        if ack.reason.is_error() {
            return Err(SessionError::Refused {
                reason: ack.reason,
                reason_string: ack.properties.reason_string.as_ref().map(|s| s.to_string()),
            });
        }
        if ack.session_present && self.clean_session {
            // [MQTT-3.2.2-1] (3.1.1) / [MQTT-3.2.2-2] (5.0): a clean start always gets
            // Session Present = 0; we hold no state to match, so we must close (5.0 [MQTT-3.2.2-4]).
            return Err(SessionError::Protocol(
                "[MQTT-3.2.2-1] CONNACK has Session Present = 1 for a clean session".into(),
            ));
        }
        let props = ack.properties;
        if let Some(ka) = props.server_keep_alive {
            // 5.0 [MQTT-3.2.2-21]: the Server Keep Alive replaces the one we asked for.
            self.keep_alive_ms = u64::from(ka) * 1000;
        }
        let receive_maximum = props
            .receive_maximum
            .map_or(usize::from(u16::MAX), usize::from);
        self.send_quota = receive_maximum.min(MAX_INFLIGHT);
        self.maximum_qos = props.maximum_qos.unwrap_or(QoS::ExactlyOnce);
        self.retain_available = props.retain_available.unwrap_or(true);
        self.phase = Phase::Connected;

        let mut events = vec![Event::Connected {
            session_present: ack.session_present,
            assigned_client_id: props
                .assigned_client_identifier
                .as_ref()
                .map(|s| s.to_string()),
            keep_alive: u16::try_from(self.keep_alive_ms / 1000).unwrap_or(u16::MAX),
        }];
        // MQTT 3.1's CONNACK has no Session Present flag (the first byte of its variable
        // header is reserved, MQTT 3.1 section 3.2), while a 3.1 broker keeps the session of
        // a client that connects without Clean Session (section 3.1, "Clean session flag")
        // and both sides then redeliver unacknowledged messages. So a 3.1 client that asked
        // for a persistent session resends as if the session were present: at worst a QoS 1
        // duplicate, which QoS 1 allows, instead of a lost message.
        let resume = ack.session_present || (self.version == Version::V3_1 && !self.clean_session);
        if resume {
            self.resend_inflight();
        } else {
            // 5.0 [MQTT-3.2.2-5]: no session on the broker, so ours is discarded too.
            let count = self.inflight.len();
            self.discard_session_state();
            if count > 0 {
                events.push(Event::Abandoned { count });
            }
        }
        self.pump();
        Ok(events)
    }

    fn on_publish(&mut self, p: Publish) -> Result<Vec<Event>, SessionError> {
        if p.topic.is_empty() || p.properties.topic_alias.is_some() {
            // We never send a Topic Alias Maximum, so the broker may not use aliases
            // (5.0 section 3.3.2.3.4, [MQTT-3.3.2-8]).
            return Err(SessionError::Protocol(
                "[MQTT-3.3.2-8] the broker used a Topic Alias we never allowed".into(),
            ));
        }
        match p.qos_pid {
            QosPid::AtMostOnce => Ok(vec![Event::Message(p)]),
            QosPid::AtLeastOnce(pid) => {
                // [MQTT-4.3.2-2]: acknowledge with PUBACK carrying the same identifier.
                self.outbox.push(Packet::PubAck(PubResp::new(pid)));
                Ok(vec![Event::Message(p)])
            }
            QosPid::ExactlyOnce(pid) => {
                // [MQTT-4.3.3-2]: answer every copy with PUBREC until PUBREL, but deliver
                // the message only once.
                self.outbox.push(Packet::PubRec(PubResp::new(pid)));
                if self.inbound_qos2.insert(pid) {
                    Ok(vec![Event::Message(p)])
                } else {
                    Ok(Vec::new())
                }
            }
        }
    }

    fn position(&self, pid: Pid) -> Option<usize> {
        self.inflight.iter().position(|(p, _)| *p == pid)
    }

    fn on_puback(&mut self, r: PubResp) -> Vec<Event> {
        let Some(i) = self.position(r.pid) else {
            return Vec::new(); // unknown identifier: nothing of ours to complete
        };
        let event = match &self.inflight[i].1 {
            Flight::Published(p) if p.qos_pid.qos() == QoS::AtLeastOnce => {
                finished(p.topic.to_string(), QoS::AtLeastOnce, r.reason)
            }
            _ => return Vec::new(), // PUBACK for a QoS 2 flow: ignore rather than corrupt it
        };
        // [MQTT-2.3.1-3]: the identifier is free once the acknowledgement is processed.
        self.inflight.remove(i);
        self.pump();
        vec![event]
    }

    fn on_pubrec(&mut self, r: PubResp) -> Vec<Event> {
        let Some(i) = self.position(r.pid) else {
            // 5.0 section 4.3.3: PUBREL with "Packet Identifier not found" for an unknown id.
            let mut rel = PubResp::new(r.pid);
            if self.version.is_v5() {
                rel.reason = ReasonCode::PacketIdentifierNotFound;
            }
            self.outbox.push(Packet::PubRel(rel));
            return Vec::new();
        };
        let topic = match &self.inflight[i].1 {
            Flight::Published(p) if p.qos_pid.qos() == QoS::ExactlyOnce => p.topic.to_string(),
            Flight::Released { .. } => {
                // Our PUBREL crossed a resent PUBREC: repeat it.
                self.outbox.push(Packet::PubRel(PubResp::new(r.pid)));
                return Vec::new();
            }
            Flight::Published(_) => return Vec::new(),
        };
        if r.reason.is_error() {
            // 5.0 [MQTT-4.3.3-4]: an error PUBREC ends the flow; no PUBREL.
            self.inflight.remove(i);
            self.pump();
            return vec![Event::PublishRejected {
                topic,
                reason: r.reason,
            }];
        }
        // [MQTT-4.3.3-1]: answer PUBREC with PUBREL and never send the PUBLISH again.
        self.inflight[i].1 = Flight::Released { topic };
        self.outbox.push(Packet::PubRel(PubResp::new(r.pid)));
        Vec::new()
    }

    fn on_pubrel(&mut self, r: PubResp) -> Vec<Event> {
        // [MQTT-4.3.3-2]: PUBCOMP with the same identifier; afterwards the identifier
        // starts a new message.
        let known = self.inbound_qos2.remove(&r.pid);
        let mut comp = PubResp::new(r.pid);
        if !known && self.version.is_v5() {
            comp.reason = ReasonCode::PacketIdentifierNotFound;
        }
        self.outbox.push(Packet::PubComp(comp));
        Vec::new()
    }

    fn on_pubcomp(&mut self, r: PubResp) -> Vec<Event> {
        let Some(i) = self.position(r.pid) else {
            return Vec::new();
        };
        let Flight::Released { topic } = &self.inflight[i].1 else {
            return Vec::new(); // PUBCOMP before PUBREC: not a state we can be in
        };
        let event = finished(topic.clone(), QoS::ExactlyOnce, r.reason);
        self.inflight.remove(i);
        self.pump();
        vec![event]
    }

    fn on_suback(&mut self, a: SubAck) -> Result<Vec<Event>, SessionError> {
        let Some(filters) = self.pending_subscribe.remove(&a.pid) else {
            return Ok(Vec::new());
        };
        if a.reasons.len() != filters.len() {
            return Err(SessionError::Protocol(format!(
                "[MQTT-3.8.4-5] SUBACK has {} return codes for {} topic filters",
                a.reasons.len(),
                filters.len()
            )));
        }
        let results = a.reasons.iter().map(|r| granted_qos(*r)).collect();
        Ok(vec![Event::SubAck { filters, results }])
    }

    fn on_unsuback(&mut self, a: UnsubAck) -> Vec<Event> {
        match self.pending_unsubscribe.remove(&a.pid) {
            Some(filters) => vec![Event::UnsubAck { filters }],
            None => Vec::new(),
        }
    }
}

/// A SUBACK code as the granted QoS, or the refusal ([MQTT-3.9.3-1]: in filter order).
pub fn granted_qos(r: ReasonCode) -> Result<QoS, ReasonCode> {
    match r {
        ReasonCode::Success => Ok(QoS::AtMostOnce),
        ReasonCode::GrantedQoS1 => Ok(QoS::AtLeastOnce),
        ReasonCode::GrantedQoS2 => Ok(QoS::ExactlyOnce),
        other => Err(other),
    }
}

fn finished(topic: String, qos: QoS, reason: ReasonCode) -> Event {
    if reason.is_error() {
        Event::PublishRejected { topic, reason }
    } else {
        Event::Delivered { topic, qos }
    }
}

fn server_disconnect(d: Disconnect) -> SessionError {
    SessionError::ServerDisconnect {
        reason: d.reason,
        reason_string: d.properties.reason_string.as_ref().map(|s| s.to_string()),
    }
}
