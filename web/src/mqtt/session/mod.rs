//! The client side of the MQTT protocol as a pure state machine: no sockets, no timers, no
//! clock. The web layer feeds it decoded packets and the current time, and sends whatever it
//! queues in [`Session::take_outgoing`]. Everything here runs in native unit tests.
//!
//! What it owns: packet-identifier allocation, the QoS 1/2 flows in both directions, the
//! keep-alive bookkeeping, flow control (Receive Maximum), and the resend of unacknowledged
//! messages with DUP after a reconnect that finds the session present.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::num::NonZeroU16;

use bytes::Bytes;
use tern_codec::{
    Disconnect, Packet, Pid, Props, PubResp, Publish, PublishProperties, QoS, QosPid, ReasonCode,
    Subscribe, SubscriptionOptions, TopicFilter, TopicName, Unsubscribe, Version,
};

mod events;
mod incoming;

pub use events::{Event, PublishError, SessionError};

pub use super::options::{ConnectOptions, WillOptions};
pub use incoming::granted_qos;

/// How long we wait for CONNACK after sending CONNECT before giving up on the connection.
pub const CONNACK_TIMEOUT_MS: u64 = 10_000;
/// Upper bound on our own QoS 1/2 messages in flight, whatever the broker allows.
pub const MAX_INFLIGHT: usize = 64;
/// Upper bound on messages waiting for a free in-flight slot.
pub const MAX_QUEUED: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Offline,
    AwaitingConnAck { since: u64 },
    Connected,
}

/// One of our QoS 1/2 messages the broker has not fully acknowledged.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // at most MAX_INFLIGHT of them; boxing buys nothing
enum Flight {
    /// QoS 1, waiting for PUBACK; or QoS 2, waiting for PUBREC.
    Published(Publish),
    /// QoS 2 after PUBREC: waiting for PUBCOMP. The PUBLISH is never sent again ([MQTT-4.3.3-1]).
    Released { topic: String },
}

#[derive(Debug, Clone)]
struct Queued {
    topic: TopicName,
    payload: Bytes,
    qos: QoS,
    retain: bool,
    properties: Props<PublishProperties>,
}

/// The client's protocol state. Lives across reconnects: that is what makes resend possible.
#[derive(Debug)]
pub struct Session {
    phase: Phase,
    version: Version,
    clean_session: bool,
    keep_alive_ms: u64,
    last_sent: u64,
    ping_sent: Option<u64>,
    next_pid: Pid,
    /// Outgoing QoS 1/2 flows in the order they were first sent.
    inflight: VecDeque<(Pid, Flight)>,
    queued: VecDeque<Queued>,
    /// Broker-assigned identifiers of inbound QoS 2 messages we hold until PUBREL.
    inbound_qos2: BTreeSet<Pid>,
    pending_subscribe: BTreeMap<Pid, Vec<TopicFilter>>,
    pending_unsubscribe: BTreeMap<Pid, Vec<TopicFilter>>,
    send_quota: usize,
    maximum_qos: QoS,
    retain_available: bool,
    outbox: Vec<Packet>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    pub fn new() -> Session {
        Session {
            phase: Phase::Offline,
            version: Version::V3_1_1,
            clean_session: true,
            keep_alive_ms: 0,
            last_sent: 0,
            ping_sent: None,
            next_pid: Pid::from(NonZeroU16::MIN),
            inflight: VecDeque::new(),
            queued: VecDeque::new(),
            inbound_qos2: BTreeSet::new(),
            pending_subscribe: BTreeMap::new(),
            pending_unsubscribe: BTreeMap::new(),
            send_quota: MAX_INFLIGHT,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            outbox: Vec::new(),
        }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Our QoS 1/2 messages not yet fully acknowledged, plus those waiting for a slot.
    pub fn unacknowledged(&self) -> usize {
        self.inflight.len() + self.queued.len()
    }

    /// The packets to write, in order. `now` marks them as sent for the keep-alive.
    pub fn take_outgoing(&mut self, now: u64) -> Vec<Packet> {
        if !self.outbox.is_empty() {
            self.last_sent = now;
        }
        std::mem::take(&mut self.outbox)
    }

    /// A transport is open: queue CONNECT, which must be the first packet ([MQTT-3.1.0-1]).
    pub fn start(&mut self, opts: &ConnectOptions, now: u64) {
        self.version = opts.version;
        self.clean_session = opts.clean_session;
        self.keep_alive_ms = u64::from(opts.keep_alive) * 1000;
        if opts.clean_session {
            // [MQTT-3.1.2-6]: a clean session discards any previous session state.
            self.discard_session_state();
        }
        self.outbox.clear();
        self.ping_sent = None;
        self.send_quota = MAX_INFLIGHT;
        self.maximum_qos = QoS::ExactlyOnce;
        self.retain_available = true;
        self.phase = Phase::AwaitingConnAck { since: now };
        self.outbox
            .push(Packet::Connect(Box::new(opts.to_connect())));
    }

    /// The transport closed. Unacknowledged messages stay for a resend; requests whose
    /// answers can no longer arrive are forgotten (SUBSCRIBE is not resent by the protocol,
    /// the subscription list re-requests it instead).
    pub fn connection_lost(&mut self) {
        self.phase = Phase::Offline;
        self.ping_sent = None;
        self.outbox.clear();
        self.pending_subscribe.clear();
        self.pending_unsubscribe.clear();
    }

    /// Queue a normal DISCONNECT, so the broker discards our will ([MQTT-3.14.4-3]).
    pub fn disconnect(&mut self) {
        if self.phase == Phase::Connected {
            self.outbox.push(Packet::Disconnect(Disconnect::new(
                ReasonCode::NormalDisconnection,
            )));
        }
    }

    /// Queue an MQTT 5 DISCONNECT carrying the reason we are closing (section 4.13).
    pub fn disconnect_with(&mut self, reason: ReasonCode) {
        if self.version.is_v5() && self.phase == Phase::Connected {
            self.outbox
                .push(Packet::Disconnect(Disconnect::new(reason)));
        }
    }

    /// Time passes: send PINGREQ when we have been quiet too long, and notice a dead link.
    pub fn tick(&mut self, now: u64) -> Result<(), SessionError> {
        match self.phase {
            Phase::Offline => Ok(()),
            Phase::AwaitingConnAck { since } => {
                if now.saturating_sub(since) > CONNACK_TIMEOUT_MS {
                    Err(SessionError::NoConnAck)
                } else {
                    Ok(())
                }
            }
            Phase::Connected => {
                if self.keep_alive_ms == 0 {
                    return Ok(()); // keep-alive switched off (section 3.1.2.10)
                }
                if let Some(sent) = self.ping_sent {
                    if now.saturating_sub(sent) > self.ping_timeout_ms() {
                        return Err(SessionError::PingTimeout);
                    }
                } else if now.saturating_sub(self.last_sent) >= self.keep_alive_ms * 3 / 4 {
                    // [MQTT-3.1.2-23]: the gap between our packets must not exceed the
                    // keep-alive, so ping a little early (browsers delay timers).
                    self.outbox.push(Packet::PingReq);
                    self.ping_sent = Some(now);
                }
                Ok(())
            }
        }
    }

    /// "A reasonable amount of time" for PINGRESP (section 3.1.2.10): half the keep-alive,
    /// between 2 and 30 seconds.
    fn ping_timeout_ms(&self) -> u64 {
        (self.keep_alive_ms / 2).clamp(2_000, 30_000)
    }

    /// Publish a message without properties; see [`Session::publish_with`].
    pub fn publish(
        &mut self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Result<(), PublishError> {
        self.publish_with(topic, payload, qos, retain, Props::none())
    }

    /// Publish a message. QoS 0 goes out at once; QoS 1/2 wait for a free slot when the
    /// broker's Receive Maximum is reached. `properties` are sent only in MQTT 5, the one
    /// version that has them (section 3.3.2.3).
    pub fn publish_with(
        &mut self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        properties: Props<PublishProperties>,
    ) -> Result<(), PublishError> {
        if self.phase != Phase::Connected {
            return Err(PublishError::NotConnected);
        }
        if qos > self.maximum_qos {
            return Err(PublishError::QosNotSupported(self.maximum_qos));
        }
        if retain && !self.retain_available {
            return Err(PublishError::RetainNotSupported);
        }
        let properties = if self.version.is_v5() {
            properties
        } else {
            Props::none()
        };
        if qos == QoS::AtMostOnce {
            let mut p = Publish::new(topic, QosPid::AtMostOnce, payload);
            p.retain = retain;
            p.properties = properties;
            self.outbox.push(Packet::Publish(p));
            return Ok(());
        }
        if self.queued.len() >= MAX_QUEUED {
            return Err(PublishError::QueueFull);
        }
        self.queued.push_back(Queued {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
        self.pump();
        Ok(())
    }

    /// Subscribe to filters with one SUBSCRIBE; the SUBACK comes back as [`Event::SubAck`].
    pub fn subscribe(&mut self, filters: Vec<(TopicFilter, QoS)>) -> Option<Pid> {
        if self.phase != Phase::Connected || filters.is_empty() {
            return None;
        }
        let pid = self.allocate_pid()?;
        self.pending_subscribe
            .insert(pid, filters.iter().map(|(f, _)| f.clone()).collect());
        self.outbox.push(Packet::Subscribe(Subscribe {
            pid,
            filters: filters
                .into_iter()
                .map(|(f, q)| (f, SubscriptionOptions::new(q)))
                .collect(),
            properties: Default::default(),
        }));
        Some(pid)
    }

    /// Unsubscribe from filters with one UNSUBSCRIBE.
    pub fn unsubscribe(&mut self, filters: Vec<TopicFilter>) -> Option<Pid> {
        if self.phase != Phase::Connected || filters.is_empty() {
            return None;
        }
        let pid = self.allocate_pid()?;
        self.pending_unsubscribe.insert(pid, filters.clone());
        self.outbox.push(Packet::Unsubscribe(Unsubscribe {
            pid,
            filters,
            properties: Default::default(),
        }));
        Some(pid)
    }

    /// [MQTT-4.4.0-1]: after reconnecting to a present session, resend unacknowledged
    /// PUBLISH packets (with DUP set, [MQTT-3.3.1-1]) and PUBREL packets with their
    /// original identifiers, in the original order.
    fn resend_inflight(&mut self) {
        for (pid, flight) in &self.inflight {
            self.outbox.push(match flight {
                Flight::Published(p) => {
                    let mut again = p.clone();
                    again.dup = true;
                    Packet::Publish(again)
                }
                Flight::Released { .. } => Packet::PubRel(PubResp::new(*pid)),
            });
        }
    }

    fn discard_session_state(&mut self) {
        self.inflight.clear();
        self.inbound_qos2.clear();
    }

    /// Move queued messages into flight while the broker's Receive Maximum allows
    /// (5.0 [MQTT-3.3.4-7]).
    fn pump(&mut self) {
        while self.phase == Phase::Connected
            && self.inflight.len() < self.send_quota
            && !self.queued.is_empty()
        {
            let Some(pid) = self.allocate_pid() else {
                return;
            };
            let Some(q) = self.queued.pop_front() else {
                return;
            };
            let qos_pid = match q.qos {
                QoS::ExactlyOnce => QosPid::ExactlyOnce(pid),
                _ => QosPid::AtLeastOnce(pid),
            };
            // [MQTT-4.3.2-1] / [MQTT-4.3.3-1]: a new message has DUP = 0 and an unused id.
            let mut p = Publish::new(q.topic, qos_pid, q.payload);
            p.retain = q.retain;
            p.properties = q.properties;
            self.outbox.push(Packet::Publish(p.clone()));
            self.inflight.push_back((pid, Flight::Published(p)));
        }
    }

    /// [MQTT-2.3.1-2]: every new SUBSCRIBE, UNSUBSCRIBE and QoS > 0 PUBLISH gets an identifier
    /// not in use; [MQTT-2.3.1-1]: never 0 (the `Pid` type guarantees it).
    fn allocate_pid(&mut self) -> Option<Pid> {
        for _ in 0..u16::MAX {
            let pid = self.next_pid;
            self.next_pid = pid.next();
            let in_use = self.inflight.iter().any(|(p, _)| *p == pid)
                || self.pending_subscribe.contains_key(&pid)
                || self.pending_unsubscribe.contains_key(&pid);
            if !in_use {
                return Some(pid);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
