//! CONNECT → CONNACK: the first packet within the deadline, protocol and client-id checks
//! with the right refusal code for each level, limits negotiation, takeover/resume through
//! the broker, and the resend of unacknowledged messages of a resumed session.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use bytestring::ByteString;
use tern_codec::{
    ConnAck, ConnAckProperties, Connect, DecodeError, Packet, PacketType, Pid, PublishProperties,
    QoS, ReasonCode, TopicName, Version,
};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Session, SessionContext, auth};
use crate::broker::{ConnectRequest, Message};
use crate::config::PROTOCOL_MAX_PACKET_SIZE;
use crate::connection::{PacketReader, PacketWriter, ReadError};
use crate::limits;
use crate::store::{ConnectionInfo, NEVER_EXPIRES, StoredWill};

/// Reads CONNECT and answers it. `None` when the connection must close (CONNACK with a
/// refusal code already queued where the protocol has one).
pub(super) async fn handshake<R, W>(
    reader: &mut PacketReader<R>,
    writer: &mut PacketWriter<W>,
    ctx: &SessionContext,
    deadline: tokio::time::Instant,
) -> Option<Session>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let stats = ctx.broker.stats();
    let timeout = ctx.broker.config().connect_timeout;
    let (peer, transport) = (ctx.peer, ctx.transport);
    let first = tokio::select! {
        () = ctx.shutdown.cancelled() => return None,
        r = tokio::time::timeout_at(deadline, reader.read_packet(stats)) => r,
    };
    let connect = match first {
        Err(_) => {
            tracing::info!(%peer, %transport, "closing connection: no CONNECT within {timeout:?}");
            return None;
        }
        Ok(Ok(Some(Packet::Connect(c)))) => c,
        Ok(Ok(None)) => return None,
        Ok(Ok(Some(other))) => {
            tracing::warn!(
                %peer,
                %transport,
                "closing connection: [MQTT-3.1.0-1] first packet is {}, not CONNECT",
                other.packet_type()
            );
            return None;
        }
        Ok(Err(ReadError::Decode(DecodeError::UnsupportedProtocolVersion { level }))) => {
            // [MQTT-3.1.2-2]: CONNACK 0x01 (v3 format, the client's level is unknown).
            tracing::warn!(
                %peer,
                %transport,
                "refusing connection: [MQTT-3.1.2-2] unsupported protocol level {level}"
            );
            let ack = Packet::ConnAck(ConnAck::new(false, ReasonCode::UnsupportedProtocolVersion));
            writer.set_version(Version::V3_1_1);
            let _ = writer.queue(&ack, stats);
            return None;
        }
        Ok(Err(e)) => {
            tracing::warn!(%peer, %transport, "closing connection: invalid CONNECT: {e}");
            // A v5 client may be told why before the close [MQTT-4.13.1-1, section 4.13].
            if let (Some(5), ReadError::Decode(d)) = (reader.connect_level(), &e) {
                let code = Some(d.reason_code())
                    .filter(|c| c.is_valid_for(PacketType::ConnAck))
                    .unwrap_or(ReasonCode::MalformedPacket);
                writer.set_version(Version::V5);
                let _ = writer.queue(&Packet::ConnAck(ConnAck::new(false, code)), stats);
            }
            return None;
        }
    };
    accept(*connect, reader, writer, ctx).await
}

/// Why a CONNECT is refused: reason code and the rule, for the log and the v5 Reason String.
pub(super) type Refusal = (ReasonCode, &'static str);

async fn accept<R, W>(
    c: Connect,
    reader: &mut PacketReader<R>,
    writer: &mut PacketWriter<W>,
    ctx: &SessionContext,
) -> Option<Session>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let broker = &ctx.broker;
    let config = broker.config();
    let version = c.version;
    reader.set_version(version);
    writer.set_version(version);
    let v5 = version.is_v5();

    let refuse = |writer: &mut PacketWriter<W>, (code, rule): Refusal| {
        tracing::warn!(peer = %ctx.peer, transport = %ctx.transport, client_id = %c.client_id, username = ?c.username.as_deref(), reason = %code, "refusing connection: {rule}");
        // Session Present 0 with any refusal [MQTT-3.2.2-4 (3.1.1), MQTT-3.2.2-6 (5.0)]; the
        // connection is closed after the CONNACK [MQTT-3.2.2-5 (3.1.1), MQTT-3.2.2-7 (5.0)].
        let mut ack = ConnAck::new(false, code);
        if v5 && c.properties.request_problem_information != Some(false) {
            ack.properties.reason_string = Some(rule.into());
        }
        let _ = writer.queue(&Packet::ConnAck(ack), broker.stats());
    };
    let (client_id, assigned, keep_alive, server_keep_alive) = match check(&c, ctx) {
        Ok(v) => v,
        Err(refusal) => {
            refuse(writer, refusal);
            return None;
        }
    };
    // User name and password, then the will against the ACL (section 5.4.2); the password
    // is never logged.
    let username = c.username.as_deref();
    let acl_generation = broker.auth_generation();
    let acl = match auth::admit(broker, ctx.peer.ip(), &c, &client_id, username).await {
        Ok(acl) => acl,
        Err(refusal) => {
            refuse(writer, refusal);
            return None;
        }
    };

    let requested = if v5 {
        c.properties.session_expiry_interval.unwrap_or(0)
    } else if c.clean_start {
        0
    } else {
        NEVER_EXPIRES
    };
    // `persistent_client_expiration` bounds how long an abandoned session is kept; a v5
    // client is told the value in force (section 3.2.2.3.2).
    let expiry = config.granted_session_expiry(requested);
    let will = c.will.map(|w| {
        let p = w.properties.into_inner();
        // Copied out of the read buffer for the same reason as the client id.
        let topic = TopicName::new(w.topic.as_str().to_owned()).unwrap_or(w.topic);
        let msg = Message {
            topic,
            payload: Bytes::copy_from_slice(&w.payload),
            qos: w.qos,
            retain: w.retain,
            properties: Message::boxed_properties(PublishProperties {
                payload_format_indicator: p.payload_format_indicator,
                response_topic: p.response_topic,
                correlation_data: p.correlation_data,
                user_properties: p.user_properties,
                content_type: p.content_type,
                ..PublishProperties::default()
            }),
            // Set once the session is known (No Local) [MQTT-3.8.3-3].
            origin: None,
            expires_at: None,
        };
        Box::new((
            msg,
            p.will_delay_interval.unwrap_or(0),
            p.message_expiry_interval,
        ))
    });

    let info = Arc::new(ConnectionInfo::new(
        c.username.as_deref().map(ByteString::from),
        ctx.peer,
        ctx.transport.as_str(),
        match version {
            Version::V3_1 => "3.1",
            Version::V3_1_1 => "3.1.1",
            _ => "5.0",
        },
        keep_alive,
    ));
    reader.count_into(Arc::clone(&info));
    writer.count_into(Arc::clone(&info));
    let req = ConnectRequest {
        info: Arc::clone(&info),
        client_id: client_id.clone(),
        clean_start: c.clean_start,
        expiry,
        // Stored with a persistent session: published after a crash too.
        will: will
            .as_ref()
            // In a cluster every session's will is in its record: a survivor publishes it
            // when this node dies.
            .filter(|_| broker.durable() && (expiry > 0 || broker.clustered()))
            .map(|w| StoredWill::Armed {
                msg: w.0.clone(),
                delay: w.1,
                expiry: w.2,
            }),
    };
    let attached = tokio::select! {
        () = ctx.shutdown.cancelled() => return None,
        a = broker.connect(&req) => a,
    };
    let attached = match attached {
        Ok(a) => a,
        Err(why) => {
            // A cluster node that cannot reach NATS cannot know whether another node serves
            // this client id: v5 0x88 Server unavailable, 3.1.1 return code 3.
            tracing::warn!(peer = %ctx.peer, client_id = %client_id, "cluster unavailable: {why}");
            refuse(
                writer,
                (
                    ReasonCode::ServerUnavailable,
                    "the cluster (NATS) cannot be reached to take the session over",
                ),
            );
            return None;
        }
    };
    let mut will = will;
    if let Some(w) = will.as_mut() {
        w.0.origin = Some(attached.key);
    }

    // Incoming QoS 2 messages awaiting PUBREL: a v5 client is told our Receive Maximum
    // [MQTT-3.3.4-7]; a 3.x client is told nothing, so it gets `max_queued_messages` (the
    // per-client message bound) before it is disconnected: each id is session state kept
    // even while offline.
    let receive_max_in = if v5 {
        config.max_inflight_messages
    } else {
        match config.max_queued_messages {
            0 => u16::MAX,
            n => u16::try_from(n).unwrap_or(u16::MAX),
        }
    };
    let client_receive_max = c.properties.receive_maximum.unwrap_or(u16::MAX);
    let client_max_packet = c
        .properties
        .maximum_packet_size
        .unwrap_or(PROTOCOL_MAX_PACKET_SIZE);
    let max_alias_out = c
        .properties
        .topic_alias_maximum
        .unwrap_or(0)
        .min(config.max_topic_alias);
    let max_alias_in = if v5 { config.max_topic_alias } else { 0 };

    let mut props = ConnAckProperties::default();
    if v5 {
        props.receive_maximum = Some(receive_max_in).filter(|&n| n != u16::MAX);
        props.maximum_qos = Some(config.max_qos()).filter(|&q| q < QoS::ExactlyOnce);
        props.retain_available = Some(false).filter(|_| !config.retain_available);
        props.maximum_packet_size = Some(config.max_packet_size).filter(|&n| n != 0);
        props.assigned_client_identifier = assigned.then(|| client_id.clone());
        props.topic_alias_maximum = Some(max_alias_in).filter(|&n| n > 0);
        props.server_keep_alive = server_keep_alive;
        props.session_expiry_interval = Some(expiry).filter(|&e| e != requested);
    }
    let ack = ConnAck {
        // Session Present only for a resumed session [MQTT-3.2.2-2, MQTT-3.2.2-3].
        session_present: attached.session_present,
        reason: ReasonCode::Success,
        properties: props.into(),
    };

    let mut session = Session {
        broker: broker.clone(),
        client_id,
        peer: ctx.peer,
        transport: ctx.transport,
        key: attached.key,
        sid: attached.sid,
        conn_id: attached.conn_id,
        version,
        keep_alive,
        will,
        expiry,
        connect_expiry_zero: expiry == 0,
        receive_max_in,
        incoming_qos2: attached.incoming_qos2,
        aliases_in: Vec::new(),
        max_alias_in,
        window: usize::from(client_receive_max.min(config.max_inflight_messages)),
        inflight: VecDeque::from(attached.inflight),
        next_pid: Pid::from(std::num::NonZeroU16::MIN),
        client_max_packet,
        max_alias_out,
        aliases_out: HashMap::new(),
        problem_info: c.properties.request_problem_information != Some(false),
        acl,
        acl_generation,
        username: info.username.clone(),
        info,
        notify: attached.notify,
        kick: attached.kick,
        done: attached.done,
        // Messages may have been queued while offline.
        want_pull: true,
        pull_buf: Vec::new(),
        congestion: None,
        held: VecDeque::new(),
        commits: broker.commits(),
        barrier: None,
    };
    // After the session's record is stored (a restart then finds what CONNACK promised).
    if session
        .emit(writer, Packet::ConnAck(ack), attached.commit)
        .is_err()
    {
        return None;
    }
    // Resend what was in flight, in the original order, with DUP [MQTT-4.4.0-1].
    session.resend_inflight(writer);
    Some(session)
}

/// Client id, whether it was assigned, effective keep alive and v5 Server Keep Alive.
type Accepted = (ByteString, bool, u16, Option<u16>);

fn check(c: &Connect, ctx: &SessionContext) -> Result<Accepted, Refusal> {
    let config = ctx.broker.config();
    let v5 = c.version.is_v5();
    if c.properties.authentication_method.is_some() {
        return Err((
            ReasonCode::BadAuthenticationMethod,
            "[MQTT-4.12.0-1] enhanced authentication (Authentication Method) is not supported",
        ));
    }
    if let Some(w) = &c.will {
        if limits::too_many_levels(&w.topic, config.max_topic_levels) {
            // v5 CONNACK 0x90; 3.x has no such code (CONNACK 3 Server unavailable).
            return Err((
                ReasonCode::TopicNameInvalid,
                "will topic has more than max_topic_levels levels",
            ));
        }
        if !ctx.broker.topic_fits(&w.topic) {
            return Err((
                ReasonCode::TopicNameInvalid,
                "will topic too long for a NATS subject (cluster)",
            ));
        }
        if w.qos > config.max_qos() {
            return Err((
                ReasonCode::QoSNotSupported,
                "[MQTT-3.2.2-12] will QoS above the server's maximum QoS",
            ));
        }
        if w.retain && !config.retain_available {
            return Err((
                ReasonCode::RetainNotSupported,
                "[MQTT-3.2.2-13] will retain but retain is not available",
            ));
        }
    }

    if c.version == Version::V3_1 && (c.client_id.is_empty() || c.client_id.len() > 23) {
        // MQTT 3.1: "between 1 and 23 characters", else return code 2 (as Mosquitto does).
        return Err((
            ReasonCode::ClientIdentifierNotValid,
            "[MQTT-3.1 3.1] client id must be 1 to 23 characters",
        ));
    }
    let mut assigned = false;
    let client_id = if c.client_id.is_empty() {
        if !v5 && !c.clean_start {
            return Err((
                ReasonCode::ClientIdentifierNotValid,
                "[MQTT-3.1.3-8] zero-length client id requires clean session",
            ));
        }
        if !config.allow_zero_length_clientid {
            return Err((
                ReasonCode::ClientIdentifierNotValid,
                "[MQTT-3.1.3-8] zero-length client ids are not allowed",
            ));
        }
        assigned = true;
        assign_client_id()
    } else {
        // Copied: the decoded string shares the read buffer's allocation, which a long-lived
        // session would otherwise pin (idle connections must stay small).
        ByteString::from(c.client_id.as_ref() as &str)
    };

    let max = config.max_keepalive;
    let mut keep_alive = c.keep_alive;
    let mut server_keep_alive = None;
    let too_long = max != 0 && (c.keep_alive > max || (c.keep_alive == 0 && max < u16::MAX));
    if too_long {
        if v5 {
            // Server Keep Alive overrides the client's value [MQTT-3.2.2-21].
            keep_alive = max;
            server_keep_alive = Some(max);
        } else {
            // 3.1.1 has no way to tell the client; Mosquitto refuses with 0x02.
            return Err((
                ReasonCode::ClientIdentifierNotValid,
                "keep alive above max_keepalive",
            ));
        }
    }
    Ok((client_id, assigned, keep_alive, server_keep_alive))
}

/// A unique client id for a client that sent none [MQTT-3.1.3-6, MQTT-3.1.3-7].
fn assign_client_id() -> ByteString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    ByteString::from(format!("auto-{t:016x}-{n:x}"))
}
