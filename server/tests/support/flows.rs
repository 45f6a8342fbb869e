//! Protocol flows built on [`Client`]: connecting, SUBSCRIBE/UNSUBSCRIBE with their
//! acknowledgements, publishing and acknowledging at every QoS, DISCONNECT.
//!
//! Two styles, both kept because tests need both: the checked flows (`connected`,
//! `subscribe`, `publish`, `ack`, …) complete an exchange and assert what every broker must
//! answer, for tests about something else; the unchecked steps (`Client::connect`,
//! `subscribe_pid`, `send_publish`) send one packet with the packet identifier the test
//! chose and leave the answer to the test, for tests about the answer itself.

use std::net::SocketAddr;

use bytes::Bytes;
use tern_codec::{
    ConnAck, Connect, Disconnect, Packet, Pid, PubResp, Publish, PublishProperties, QoS, QosPid,
    ReasonCode, SubAck, Subscribe, SubscriptionOptions, TopicFilter, UnsubAck, Unsubscribe,
    Version,
};

use super::client::Client;
use super::packets::{connect_packet, filter, pid, topic};

impl Client {
    /// TCP + CONNECT (`client_id`, `clean`, keep alive 60) + the CONNACK, whatever its
    /// reason code (the caller checks it).
    pub async fn connect(
        addr: SocketAddr,
        version: Version,
        client_id: &str,
        clean: bool,
    ) -> (Client, ConnAck) {
        let mut c = Client::tcp(addr, version, client_id).await;
        let ack = c.handshake(connect_packet(version, client_id, clean)).await;
        (c, ack)
    }

    /// TCP + CONNECT(`connect`) + CONNACK with Success; panics otherwise.
    pub async fn connect_with(addr: SocketAddr, connect: Connect, name: &str) -> Client {
        let mut c = Client::tcp(addr, connect.version, name).await;
        let ack = c.handshake(connect).await;
        assert_eq!(ack.reason, ReasonCode::Success, "{name}: CONNACK {ack:?}");
        c
    }

    /// A connected client with a clean session and the given id.
    pub async fn connected(addr: SocketAddr, version: Version, id: &str) -> Client {
        Client::connect_with(addr, Connect::new(version, id), id).await
    }

    /// Next PUBLISH, acknowledged as its QoS requires (PUBACK, or PUBREC/PUBREL/PUBCOMP).
    pub async fn recv_publish_acked(&mut self) -> Publish {
        let p = self.recv_publish().await;
        self.ack(&p).await;
        p
    }

    /// Completes the receiver side of a delivered PUBLISH.
    pub async fn ack(&mut self, p: &Publish) {
        match p.qos_pid {
            QosPid::AtMostOnce => {}
            QosPid::AtLeastOnce(id) => self.send(Packet::PubAck(PubResp::new(id))).await,
            QosPid::ExactlyOnce(id) => {
                self.send(Packet::PubRec(PubResp::new(id))).await;
                // [MQTT-4.3.3-?] the server answers PUBREC with PUBREL carrying the same id.
                let rel = self
                    .wait_for(|p| matches!(p, Packet::PubRel(r) if r.pid == id))
                    .await;
                assert!(matches!(rel, Packet::PubRel(_)));
                self.send(Packet::PubComp(PubResp::new(id))).await;
            }
        }
    }

    /// SUBSCRIBE one filter with options; returns the SUBACK (checked: same pid, one reason).
    pub async fn subscribe_opts(&mut self, f: &str, opts: SubscriptionOptions) -> SubAck {
        let id = self.pid();
        let sub = Subscribe {
            pid: id,
            filters: vec![(filter(f), opts)],
            properties: Default::default(),
        };
        self.subscribe_packet(sub).await
    }

    /// SUBSCRIBE one filter at `qos`; asserts it is granted as requested.
    pub async fn subscribe(&mut self, f: &str, qos: QoS) {
        let ack = self.subscribe_opts(f, SubscriptionOptions::new(qos)).await;
        assert_eq!(
            ack.reasons,
            vec![granted(qos)],
            "{}: SUBACK for {f}",
            self.name
        );
    }

    /// Sends a SUBSCRIBE and returns the SUBACK with the same packet identifier
    /// ([MQTT-3.8.4-1], [MQTT-3.8.4-2]).
    pub async fn subscribe_packet(&mut self, sub: Subscribe) -> SubAck {
        let id = sub.pid;
        let n = sub.filters.len();
        self.send(Packet::Subscribe(sub)).await;
        match self.wait_for(|p| matches!(p, Packet::SubAck(_))).await {
            Packet::SubAck(ack) => {
                assert_eq!(ack.pid, id, "{}: [MQTT-3.8.4-2] SUBACK pid", self.name);
                assert_eq!(ack.reasons.len(), n, "{}: [MQTT-3.9.3-1]", self.name);
                ack
            }
            _ => unreachable!(),
        }
    }

    /// UNSUBSCRIBE; returns the UNSUBACK with the same packet identifier ([MQTT-3.10.4-4]).
    pub async fn unsubscribe(&mut self, filters: &[&str]) -> UnsubAck {
        let id = self.pid();
        let unsub = Unsubscribe {
            pid: id,
            filters: filters
                .iter()
                .map(|f| filter(f))
                .collect::<Vec<TopicFilter>>(),
            properties: Default::default(),
        };
        self.send(Packet::Unsubscribe(unsub)).await;
        match self.wait_for(|p| matches!(p, Packet::UnsubAck(_))).await {
            Packet::UnsubAck(ack) => {
                assert_eq!(ack.pid, id, "{}: [MQTT-3.10.4-4] UNSUBACK pid", self.name);
                ack
            }
            _ => unreachable!(),
        }
    }

    /// Publishes and completes the sender side of the QoS flow (PUBACK, or PUBREC/PUBREL/
    /// PUBCOMP); returns the final acknowledgement (None for QoS 0).
    pub async fn publish(&mut self, mut p: Publish) -> Option<PubResp> {
        let qos = p.qos_pid.qos();
        if qos != QoS::AtMostOnce {
            let id = self.pid();
            p.qos_pid = QosPid::from_parts(qos, Some(id)).expect("qos/pid");
        }
        let id = p.qos_pid.pid();
        self.send(Packet::Publish(p)).await;
        match (qos, id) {
            (QoS::AtLeastOnce, Some(id)) => {
                match self
                    .wait_for(|p| matches!(p, Packet::PubAck(r) if r.pid == id))
                    .await
                {
                    Packet::PubAck(r) => Some(r),
                    _ => unreachable!(),
                }
            }
            (QoS::ExactlyOnce, Some(id)) => {
                let rec = self
                    .wait_for(|p| matches!(p, Packet::PubRec(r) if r.pid == id))
                    .await;
                if let Packet::PubRec(r) = &rec
                    && r.reason.is_error()
                {
                    return Some(r.clone());
                }
                self.send(Packet::PubRel(PubResp::new(id))).await;
                match self
                    .wait_for(|p| matches!(p, Packet::PubComp(r) if r.pid == id))
                    .await
                {
                    Packet::PubComp(r) => Some(r),
                    _ => unreachable!(),
                }
            }
            _ => None,
        }
    }

    /// Publishes `payload` to `t` at `qos` (retain as given) and completes the flow.
    pub async fn publish_simple(&mut self, t: &str, qos: QoS, payload: &str, retain: bool) {
        let mut p = Publish::new(
            topic(t),
            QosPid::from_parts(qos, (qos != QoS::AtMostOnce).then(|| pid(1))).expect("qos"),
            Bytes::copy_from_slice(payload.as_bytes()),
        );
        p.retain = retain;
        self.publish(p).await;
    }

    /// Sends DISCONNECT (Success) and waits for the server to close.
    pub async fn disconnect(mut self) {
        self.send(Packet::Disconnect(Disconnect {
            reason: ReasonCode::Success,
            properties: Default::default(),
        }))
        .await;
        let _ = self.expect_closed().await;
    }
}

impl Client {
    /// SUBSCRIBE `f` at `qos` with packet identifier `id`; returns the next packet as it
    /// came (SUBACK or not, any reason code).
    pub async fn subscribe_pid(&mut self, id: u16, f: &str, qos: QoS) -> Packet {
        self.send(Packet::Subscribe(Subscribe {
            pid: pid(id),
            filters: vec![(filter(f), SubscriptionOptions::new(qos))],
            properties: Default::default(),
        }))
        .await;
        self.recv().await
    }

    /// Sends one PUBLISH with packet identifier `id` (ignored for QoS 0) and nothing else:
    /// the acknowledgements are the test's to read.
    pub async fn send_publish(&mut self, t: &str, payload: &[u8], qos: QoS, id: u16, retain: bool) {
        let qos_pid = QosPid::from_parts(qos, Pid::new(id).filter(|_| qos != QoS::AtMostOnce))
            .expect("qos/pid");
        self.send(Packet::Publish(Publish {
            dup: false,
            qos_pid,
            retain,
            topic: topic(t),
            payload: Bytes::copy_from_slice(payload),
            properties: Default::default(),
        }))
        .await;
    }

    /// A QoS 1 PUBLISH with `props` and packet identifier `id`; the next packet must be its
    /// PUBACK.
    pub async fn publish_qos1_with(
        &mut self,
        t: &str,
        payload: &'static [u8],
        id: u16,
        retain: bool,
        props: PublishProperties,
    ) {
        self.send(Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::AtLeastOnce(pid(id)),
            retain,
            topic: topic(t),
            payload: Bytes::from_static(payload),
            properties: props.into(),
        }))
        .await;
        assert!(matches!(self.recv().await, Packet::PubAck(_)));
    }
}

/// The SUBACK reason code granting `qos`.
pub fn granted(qos: QoS) -> ReasonCode {
    match qos {
        QoS::AtMostOnce => ReasonCode::Success,
        QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
        QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
    }
}
