//! A connected fuzz client: CONNECT/CONNACK, then operations that each follow the protocol
//! (SUBSCRIBE→SUBACK, the QoS 1 and QoS 2 flows, PINGREQ→PINGRESP) or break it on purpose.
//! Incoming QoS 1/2 messages are acknowledged, late or never, as the seeded generator says,
//! so some clients are slow consumers and some leave flows half done.

use std::sync::Arc;
use std::time::Duration;

use tern_codec::{
    ConnAck, Connect, Disconnect, DisconnectProperties, Packet, Pid, QoS, QosPid, ReasonCode,
    Version,
};

use crate::Shared;
use crate::conn::{Conn, ReadMode, resp};
use crate::packets;
use crate::rng::Rng;

/// How long the driver waits for an answer the broker owes it. Missing it is counted, not
/// failed: a broker may legitimately stop reading from a client (publisher pacing).
pub const ANSWER: Duration = Duration::from_secs(10);
/// The same once the stream may be out of step: the answer most likely never comes.
const DESYNCED_ANSWER: Duration = Duration::from_millis(300);

/// What came of waiting for a packet.
pub enum Wait {
    Got(Packet),
    Closed,
    TimedOut,
}

pub struct Session {
    pub conn: Conn,
    pub version: Version,
    pub connect: Connect,
    pub connack: ConnAck,
    pid: u16,
    /// Decides how this client reacts to what arrives (independent of what it sends, so
    /// that one seed always sends the same packets whatever the timing).
    react: Rng,
    /// Percentage of incoming QoS 1/2 messages this client acknowledges.
    ack_percent: usize,
    /// Bytes that may not be a whole valid packet were sent (a corrupted length can swallow
    /// what follows): the broker's answers, if any, no longer say anything.
    pub desynced: bool,
    shared: Arc<Shared>,
}

impl Session {
    /// Connects with a generated CONNECT for `id`; `None` if the broker refused or closed.
    pub async fn start(
        shared: &Arc<Shared>,
        rng: &mut Rng,
        version: Version,
        id: &str,
        ws: bool,
    ) -> Option<Session> {
        let mut connect = packets::connect(rng, version, id);
        if id.is_empty() && version.is_v5() {
            // A persistent session under an id the broker assigns would be unreachable for
            // the clean-up at the end of the run if the CONNACK were lost: keep it transient.
            let mut p = connect.properties.clone().into_inner();
            p.session_expiry_interval = None;
            connect.properties = p.into();
        }
        Session::start_with(shared, rng, connect, ws).await
    }

    pub async fn start_with(
        shared: &Arc<Shared>,
        rng: &mut Rng,
        connect: Connect,
        ws: bool,
    ) -> Option<Session> {
        let version = connect.version;
        if packets::is_persistent(&connect) {
            shared.may_have_session(&connect.client_id);
        }
        let mode = ReadMode::Strict {
            version,
            max_packet_size: connect.properties.maximum_packet_size,
            receive_maximum: connect.properties.receive_maximum,
        };
        let mut conn = shared.open(mode, rng, ws).await?;
        let packet = Packet::Connect(Box::new(connect.clone()));
        if !conn.send(&packet, version).await {
            return None;
        }
        let connack = match conn.next(ANSWER).await {
            Some(Packet::ConnAck(a)) => a,
            Some(other) => {
                shared.finding(format!(
                    "[MQTT-3.2.0-1] first packet from the broker was {:?}, not CONNACK",
                    other.packet_type()
                ));
                return None;
            }
            None => return None,
        };
        if connack.reason != ReasonCode::Success {
            return None;
        }
        shared.stats.sessions.inc();
        if conn.ws {
            shared.stats.ws_sessions.inc();
        }
        if !connack.session_present {
            conn.check_inflight();
        }
        let mut react = rng.fork(0x5EAC7);
        let ack_percent = react.pick(&[100, 100, 90, 50, 0]);
        Some(Session {
            conn,
            version,
            connect,
            connack,
            pid: rng.range(1, 60_000) as u16,
            react,
            ack_percent,
            desynced: false,
            shared: Arc::clone(shared),
        })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub fn next_pid(&mut self) -> Pid {
        self.pid = self.pid.wrapping_add(1).max(1);
        Pid::new(self.pid).expect("non-zero")
    }

    pub async fn send(&mut self, p: &Packet) -> bool {
        self.shared.stats.packets.inc();
        self.conn.send(p, self.version).await
    }

    /// Writes bytes that may be invalid or incomplete (see [`Session::desynced`]).
    pub async fn send_raw(&mut self, b: &[u8]) -> bool {
        self.desynced = true;
        self.shared.stats.packets.inc();
        self.conn.send_raw(b).await
    }

    /// Answers an incoming packet as a (possibly lazy) client would; `false` if the write
    /// failed.
    async fn react_to(&mut self, p: &Packet) -> bool {
        let ack = self.react.percent(self.ack_percent);
        let answer = match p {
            Packet::Publish(m) => match m.qos_pid {
                QosPid::AtLeastOnce(pid) if ack => Packet::PubAck(resp(pid)),
                QosPid::ExactlyOnce(pid) if ack => Packet::PubRec(resp(pid)),
                _ => return true,
            },
            Packet::PubRel(r) if ack => Packet::PubComp(resp(r.pid)),
            _ => return true,
        };
        self.send(&answer).await
    }

    /// Waits for the first packet `want` accepts, answering everything else on the way.
    pub async fn wait_for(&mut self, want: impl Fn(&Packet) -> bool) -> Wait {
        let patience = if self.desynced {
            DESYNCED_ANSWER
        } else {
            ANSWER
        };
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let Ok(next) = tokio::time::timeout_at(deadline, self.conn.events.recv()).await else {
                if !self.desynced {
                    self.shared.stats.unanswered.inc();
                }
                return Wait::TimedOut;
            };
            let Some(p) = next else {
                return Wait::Closed;
            };
            if want(&p) {
                return Wait::Got(p);
            }
            if !self.react_to(&p).await {
                return Wait::Closed;
            }
        }
    }

    /// Handles what arrives for up to `window` (the client's reading time between its own
    /// actions); `false` once the connection is closed.
    pub async fn drain(&mut self, window: Duration) -> bool {
        let until = tokio::time::Instant::now() + window;
        loop {
            match tokio::time::timeout_at(until, self.conn.events.recv()).await {
                Err(_) => return true,
                Ok(None) => return false,
                Ok(Some(p)) => {
                    if !self.react_to(&p).await {
                        return false;
                    }
                }
            }
        }
    }

    /// One request with the answer it must get; `false` ends the session.
    async fn request(&mut self, p: Packet, want: impl Fn(&Packet) -> bool) -> bool {
        self.send(&p).await && matches!(self.wait_for(want).await, Wait::Got(_))
    }

    pub async fn subscribe(&mut self, rng: &mut Rng) -> bool {
        let pid = self.next_pid();
        let Some(p) = packets::subscribe(rng, self.version, pid) else {
            return true;
        };
        self.request(p, move |a| matches!(a, Packet::SubAck(s) if s.pid == pid))
            .await
    }

    pub async fn unsubscribe(&mut self, rng: &mut Rng) -> bool {
        let pid = self.next_pid();
        let Some(p) = packets::unsubscribe(rng, pid) else {
            return true;
        };
        self.request(p, move |a| matches!(a, Packet::UnsubAck(s) if s.pid == pid))
            .await
    }

    pub async fn ping(&mut self) -> bool {
        self.request(Packet::PingReq, |a| matches!(a, Packet::PingResp))
            .await
    }

    /// PUBLISH at a random QoS and follows the flow, sometimes leaving it half done,
    /// repeating steps (DUP, a second PUBREL) or sending PUBREL for an id never used.
    pub async fn publish(&mut self, rng: &mut Rng, topic: &str) -> bool {
        let qos = packets::qos(rng);
        let pid = self.next_pid();
        let qos_pid = QosPid::from_parts(qos, (qos != QoS::AtMostOnce).then_some(pid))
            .expect("qos and pid agree");
        let Some(p) = packets::publish(rng, self.version, topic, qos_pid) else {
            return true;
        };
        if !self.send(&p).await {
            return false;
        }
        match qos {
            QoS::AtMostOnce => true,
            QoS::AtLeastOnce => {
                if rng.one_in(6) {
                    return true; // do not wait for the PUBACK
                }
                matches!(
                    self.wait_for(move |a| matches!(a, Packet::PubAck(r) if r.pid == pid))
                        .await,
                    Wait::Got(_)
                )
            }
            QoS::ExactlyOnce => self.qos2_rest(rng, p, pid).await,
        }
    }

    async fn qos2_rest(&mut self, rng: &mut Rng, publish: Packet, pid: Pid) -> bool {
        if rng.one_in(8) && !self.send(&publish).await {
            return false; // the same message again before PUBREL [MQTT-4.3.3-9]
        }
        match self
            .wait_for(move |a| matches!(a, Packet::PubRec(r) if r.pid == pid))
            .await
        {
            Wait::Got(Packet::PubRec(r)) if r.reason.is_error() => return true,
            Wait::Got(_) => {}
            _ => return false,
        }
        if rng.one_in(8) {
            return true; // abandon the flow: the broker holds the id until the session ends
        }
        let repeats = if rng.one_in(8) { 2 } else { 1 };
        for _ in 0..repeats {
            if !self.send(&Packet::PubRel(resp(pid))).await {
                return false;
            }
        }
        for _ in 0..repeats {
            let got = self
                .wait_for(move |a| matches!(a, Packet::PubComp(r) if r.pid == pid))
                .await;
            if !matches!(got, Wait::Got(_)) {
                return false;
            }
        }
        true
    }

    /// PUBREL for an id with no flow: the broker answers PUBCOMP (v5: 0x92, Packet
    /// Identifier not found) rather than failing.
    pub async fn stray_pubrel(&mut self) -> bool {
        let pid = self.next_pid();
        self.request(
            Packet::PubRel(resp(pid)),
            move |a| matches!(a, Packet::PubComp(r) if r.pid == pid),
        )
        .await
    }

    /// Ends the session with DISCONNECT (v5: sometimes with the will, or changing the
    /// Session Expiry Interval, which is a protocol error if it was 0 [MQTT-3.14.2-2]).
    pub async fn disconnect(mut self, rng: &mut Rng) {
        let mut d = Disconnect::new(ReasonCode::Success);
        if self.version.is_v5() {
            if rng.one_in(3) {
                d.reason = ReasonCode::DisconnectWithWillMessage;
            }
            if rng.one_in(5) {
                let expiry = rng.pick(&[0, 5, u32::MAX]);
                if expiry > 0 {
                    // The broker must refuse this when the CONNECT said 0, but if it did
                    // not the session would be real: let the clean-up know the id.
                    self.shared.may_have_session(&self.connect.client_id);
                }
                d.properties = DisconnectProperties {
                    session_expiry_interval: Some(expiry),
                    ..Default::default()
                }
                .into();
            }
        }
        // The client closes the connection after DISCONNECT [MQTT-3.14.4-1]: dropped here.
        self.send(&Packet::Disconnect(d)).await;
    }
}
