//! The end-of-run checks: the broker still answers a QoS 1 round trip; every client id the
//! fuzzer used is cleaned up, and a session exists only for ids some CONNECT asked to
//! persist; afterwards `$SYS` must show exactly the probe's connection, session and
//! subscriptions, and no queued message anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tern_codec::{Packet, QoS, ReasonCode, Subscribe, SubscriptionOptions, Version};
use tokio::task::JoinSet;

use crate::Shared;
use crate::packets::ID_POOL;
use crate::support::{Client, DEADLINE, Event, connect_packet, filter, pid};

const PROBE_ID: &str = "fz-probe";
const ECHO: &str = "fz-probe/echo";
/// `$SYS` values read at the end (published every second, retained).
const SYS: [&str; 5] = [
    "$SYS/broker/clients/total",
    "$SYS/broker/clients/connected",
    "$SYS/broker/subscriptions/count",
    "$SYS/broker/messages/stored",
    "$SYS/broker/retained messages/count",
];
/// How long `$SYS` may take to show the state after the clean-up.
const SETTLE: Duration = Duration::from_secs(30);
/// Clean-up connections in parallel.
const PURGE_PARALLEL: usize = 16;

pub async fn after_run(tcp: SocketAddr, shared: Arc<Shared>) -> Result<(), String> {
    let mut probe = qos1_round_trip(tcp).await?;
    purge(tcp, &shared).await?;
    sys_state(&mut probe).await
}

/// SUBSCRIBE QoS 1 → SUBACK, PUBLISH QoS 1 → PUBACK and the message back.
async fn qos1_round_trip(tcp: SocketAddr) -> Result<Client, String> {
    let (mut c, ack) = Client::connect(tcp, Version::V5, PROBE_ID, true).await;
    if ack.reason != ReasonCode::Success {
        return Err(format!("probe CONNECT refused: {:?}", ack.reason));
    }
    match c.subscribe_pid(1, ECHO, QoS::AtLeastOnce).await {
        Packet::SubAck(a) if a.reasons == [ReasonCode::GrantedQoS1] => {}
        other => return Err(format!("probe SUBSCRIBE answered with {other:?}")),
    }
    c.send_publish(ECHO, b"alive", QoS::AtLeastOnce, 2, false)
        .await;
    let (mut acked, mut delivered) = (false, false);
    while !(acked && delivered) {
        match c.next_event(DEADLINE).await {
            Event::Packet(Packet::PubAck(r)) if r.pid.get() == 2 && !r.reason.is_error() => {
                acked = true
            }
            Event::Packet(Packet::Publish(p))
                if p.topic.as_str() == ECHO && &p.payload[..] == b"alive" =>
            {
                if let Some(pid) = p.qos_pid.pid() {
                    c.send(Packet::PubAck(tern_codec::PubResp::new(pid))).await;
                }
                delivered = true;
            }
            Event::Packet(other) => return Err(format!("probe round trip: unexpected {other:?}")),
            Event::Closed => return Err("the broker closed the probe connection".into()),
            Event::Timeout => {
                return Err(format!("probe round trip: no answer within {DEADLINE:?}"));
            }
        }
    }
    Ok(c)
}

/// Connects every id that may hold a session (and every pool id) with Clean Start 0 and
/// Session Expiry 0, which resumes what is there and ends it at DISCONNECT.
async fn purge(tcp: SocketAddr, shared: &Shared) -> Result<(), String> {
    let registered = shared.session_ids();
    let mut ids = registered.clone();
    ids.extend((0..ID_POOL).map(|i| format!("fz-{i}")));
    let ids: Vec<String> = ids.into_iter().collect();
    let mut resumed = 0;
    for chunk in ids.chunks(PURGE_PARALLEL) {
        let mut set = JoinSet::new();
        for id in chunk {
            set.spawn(purge_one(tcp, id.clone()));
        }
        while let Some(r) = set.join_next().await {
            let (id, present) = r.map_err(|e| format!("clean-up task failed: {e}"))??;
            if present && !registered.contains(&id) {
                return Err(format!(
                    "a session for {id:?} outlived its connection although no CONNECT \
                     asked for one [MQTT-3.1.2-6] / [MQTT-3.1.2-23]"
                ));
            }
            resumed += usize::from(present);
        }
    }
    eprintln!(
        "socket fuzz: clean-up of {} ids ({} may have had a session): {resumed} sessions resumed and ended",
        ids.len(),
        registered.len()
    );
    Ok(())
}

async fn purge_one(tcp: SocketAddr, id: String) -> Result<(String, bool), String> {
    let mut c = Client::tcp(tcp, Version::V5, &id).await;
    let ack = c.handshake(connect_packet(Version::V5, &id, false)).await;
    if ack.reason != ReasonCode::Success {
        return Err(format!(
            "clean-up CONNECT of {id:?} refused: {:?}",
            ack.reason
        ));
    }
    c.send(Packet::Disconnect(tern_codec::Disconnect::new(
        ReasonCode::Success,
    )))
    .await;
    // Whatever the resumed session still had queued arrives before the close.
    c.expect_closed().await;
    Ok((id, ack.session_present))
}

/// Waits until `$SYS` shows the probe alone: 1 session, 1 connection, its 1 + 5
/// subscriptions, and no stored message that is not a retained one.
async fn sys_state(probe: &mut Client) -> Result<(), String> {
    probe
        .send(Packet::Subscribe(Subscribe {
            pid: pid(3),
            filters: SYS
                .iter()
                .map(|f| (filter(f), SubscriptionOptions::new(QoS::AtMostOnce)))
                .collect(),
            properties: Default::default(),
        }))
        .await;
    let want = |seen: &BTreeMap<&str, u64>| {
        let v = |i: usize| seen.get(SYS[i]).copied();
        v(0) == Some(1)
            && v(1) == Some(1)
            && v(2) == Some(1 + SYS.len() as u64)
            && v(3).is_some()
            && v(3) == v(4)
    };
    let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !want(&seen) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let got = probe.next_event(left).await;
        if let Event::Timeout = got {
            let names: BTreeSet<_> = seen.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            return Err(format!(
                "after the clean-up $SYS still shows {names:?} after {SETTLE:?}; expected \
                 clients/total 1, clients/connected 1, subscriptions/count {}, \
                 messages/stored = retained messages/count (nothing queued)",
                1 + SYS.len()
            ));
        }
        match got {
            Event::Packet(Packet::Publish(p)) => {
                let topic = p.topic.as_str();
                if let Some(name) = SYS.iter().find(|s| **s == topic) {
                    let text = String::from_utf8_lossy(&p.payload);
                    let value = text
                        .trim()
                        .parse()
                        .map_err(|_| format!("{topic} = {text:?} is not a number"))?;
                    seen.insert(name, value);
                }
            }
            Event::Packet(Packet::SubAck(a)) if a.reasons.iter().any(|r| r.is_error()) => {
                return Err(format!("$SYS subscription refused: {a:?}"));
            }
            Event::Packet(_) | Event::Timeout => {}
            Event::Closed => return Err("the broker closed the probe connection".into()),
        }
    }
    Ok(())
}
