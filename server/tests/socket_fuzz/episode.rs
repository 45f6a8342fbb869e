//! What one fuzz worker does, episode after episode: a well-behaved (or half-behaved)
//! session, a takeover of a client id, garbage, a corrupted CONNECT, a socket that never
//! sends CONNECT, a huge declared length, a client that goes silent. Episode `n` of worker
//! `w` draws everything it sends from `seed → w → n`, so a seed replays the same packets.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tern_codec::{DecodeConfig, Packet, QosPid, decode};

use crate::Shared;
use crate::conn::ReadMode;
use crate::packets;
use crate::rng::Rng;
use crate::session::{ANSWER, Session};

/// Slack on top of a deadline the broker must keep (keep alive, connect_timeout) before
/// the fuzzer calls it a finding; generous because the machine may be busy.
const SLACK: Duration = Duration::from_secs(10);

pub async fn run_worker(shared: Arc<Shared>, rng: Rng) {
    for n in 0.. {
        let mut erng = rng.fork(n);
        tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => return,
            _ = episode(&shared, &mut erng) => {}
        }
        shared.stats.episodes.inc();
    }
}

async fn episode(shared: &Arc<Shared>, rng: &mut Rng) {
    let ws = rng.percent(shared.ws_percent);
    match rng.weighted(&[55, 8, 10, 10, 6, 6, 3]) {
        0 => session(shared, rng, ws).await,
        1 => takeover(shared, rng, ws).await,
        2 => garbage(shared, rng, ws).await,
        3 => mutated_connect(shared, rng, ws).await,
        4 => never_connect(shared, rng, ws).await,
        5 => huge(shared, rng, ws).await,
        _ => silent(shared, rng, ws).await,
    }
}

fn client_id(rng: &mut Rng) -> String {
    if rng.one_in(10) {
        String::new()
    } else {
        packets::pool_id(rng)
    }
}

/// A session in a random version with a pool id (sometimes an empty one).
async fn random_session(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) -> Option<Session> {
    let version = packets::version(rng);
    let id = client_id(rng);
    Session::start(shared, rng, version, &id, ws).await
}

async fn session(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let id = client_id(rng);
    let version = packets::version(rng);
    let Some(mut s) = Session::start(shared, rng, version, &id, ws).await else {
        return;
    };
    if operate(&mut s, rng, 30).await {
        end(s, rng).await;
    }
}

/// Up to `max_ops` random operations; `false` once the connection is gone.
async fn operate(s: &mut Session, rng: &mut Rng, max_ops: usize) -> bool {
    for _ in 0..rng.range(1, max_ops) {
        let alive = match rng.weighted(&[20, 5, 35, 4, 3, 10, 2, 2, 2, 3, 1, 1, 1]) {
            0 => s.subscribe(rng).await,
            1 => s.unsubscribe(rng).await,
            2 => {
                let topic = packets::topic(rng);
                s.publish(rng, &topic).await
            }
            3 => s.ping().await,
            4 => s.stray_pubrel().await,
            5 => s.drain(Duration::from_millis(rng.below(100) as u64)).await,
            6 => {
                // A second CONNECT is a protocol violation: the broker must close
                // [MQTT-3.1.0-2].
                let again = Packet::Connect(Box::new(s.connect.clone()));
                if !s.desynced
                    && s.send(&again).await
                    && let Err(why) = s.conn.wait_closed(ANSWER + SLACK).await
                {
                    s.shared().finding(format!(
                        "[MQTT-3.1.0-2] a second CONNECT ({:?}) did not close the connection: {why}",
                        s.version
                    ));
                }
                false
            }
            7 => {
                let bad = packets::raw_subscribe(rng, s.version);
                s.send_raw(&bad).await
            }
            8 => s.send_raw(&packets::raw_publish(rng, s.version)).await,
            9 => {
                let pid = s.next_pid();
                let p = if rng.one_in(2) {
                    packets::subscribe(rng, s.version, pid)
                } else {
                    let topic = packets::topic(rng);
                    packets::publish(rng, s.version, &topic, QosPid::AtLeastOnce(pid))
                };
                match p.and_then(|p| packets::to_bytes(&p, s.version)) {
                    Some(b) => s.send_raw(&packets::mutate(rng, b)).await,
                    None => true,
                }
            }
            10 => {
                s.send_raw(&packets::huge_header(rng)).await;
                false
            }
            // AUTH: reserved before v5, a protocol error without an Authentication Method.
            11 => s.send_raw(&[0xF0, 0x00]).await,
            _ => {
                s.desynced = true;
                s.conn.send_text_frame().await
            }
        };
        if !alive {
            return false;
        }
    }
    true
}

/// DISCONNECT, or an abrupt close (possibly in the middle of a packet).
async fn end(mut s: Session, rng: &mut Rng) {
    match rng.weighted(&[50, 35, 10, 5]) {
        0 => s.disconnect(rng).await,
        1 => {}
        2 => {
            let pid = s.next_pid();
            let topic = packets::topic(rng);
            if let Some(b) = packets::publish(rng, s.version, &topic, QosPid::ExactlyOnce(pid))
                .and_then(|p| packets::to_bytes(&p, s.version))
            {
                s.send_raw(&b[..b.len() / 2]).await;
            }
        }
        _ => {
            s.drain(Duration::from_millis(rng.below(300) as u64)).await;
        }
    }
}

/// Two connections with one client id: the first must be closed [MQTT-3.1.4-3], the session
/// (with its half-done QoS 2 flows) moves to the second, possibly in another version.
async fn takeover(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let id = packets::pool_id(rng);
    let version = packets::version(rng);
    let Some(mut first) = Session::start(shared, rng, version, &id, ws).await else {
        return;
    };
    if !operate(&mut first, rng, 6).await {
        return;
    }
    let ws2 = rng.percent(shared.ws_percent);
    let version = packets::version(rng);
    let Some(mut second) = Session::start(shared, rng, version, &id, ws2).await else {
        return;
    };
    shared.stats.takeovers.inc();
    if let Err(why) = first.conn.wait_closed(ANSWER + SLACK).await {
        shared.finding(format!(
            "[MQTT-3.1.4-3] the old connection of {id:?} was not closed after a takeover: {why}"
        ));
        return;
    }
    if operate(&mut second, rng, 10).await {
        end(second, rng).await;
    }
}

/// Random bytes, before CONNECT or after a valid one.
async fn garbage(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let bytes = rng.bytes_upto(2000);
    if rng.one_in(2) {
        if let Some(mut c) = shared.open(ReadMode::Lenient, rng, ws).await {
            c.send_raw(&bytes).await;
            c.next(Duration::from_millis(rng.below(50) as u64)).await;
        }
    } else if let Some(mut s) = random_session(shared, rng, ws).await {
        s.send_raw(&bytes).await;
        s.drain(Duration::from_millis(rng.below(50) as u64)).await;
    }
}

/// A corrupted CONNECT. When the corruption still decodes (as the broker will see it), the
/// answer is checked as for any CONNECT and a resulting session is remembered.
async fn mutated_connect(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let version = packets::version(rng);
    let id = client_id(rng);
    let connect = packets::connect(rng, version, &id);
    let Some(bytes) = packets::to_bytes(&Packet::Connect(Box::new(connect)), version) else {
        return;
    };
    let bad = packets::mutate(rng, bytes);
    let mut buf = BytesMut::from(&bad[..]);
    let mode = match decode(&mut buf, &DecodeConfig::default()) {
        Ok(Some(Packet::Connect(c))) => {
            if packets::is_persistent(&c) {
                if c.client_id.is_empty() {
                    return; // the broker would assign an id we might never learn
                }
                shared.may_have_session(&c.client_id);
            }
            ReadMode::Strict {
                version: c.version,
                max_packet_size: None,
                receive_maximum: None,
            }
        }
        _ => ReadMode::Lenient,
    };
    if let Some(mut c) = shared.open(mode, rng, ws).await
        && c.send_raw(&bad).await
    {
        c.next(Duration::from_millis(rng.below(200) as u64)).await;
    }
}

/// A socket that never completes CONNECT: closes at once, after part of a CONNECT, after
/// another packet (which must be refused [MQTT-3.1.0-1]), or waits to be closed by the
/// broker's connect_timeout.
async fn never_connect(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let Some(mut c) = shared.open(ReadMode::Lenient, rng, ws).await else {
        return;
    };
    let version = packets::version(rng);
    let id = packets::pool_id(rng);
    let connect = packets::connect(rng, version, &id);
    let Some(bytes) = packets::to_bytes(&Packet::Connect(Box::new(connect)), version) else {
        return;
    };
    match rng.below(8) {
        0 | 1 => {}
        2..=4 => {
            c.send_raw(&bytes[..rng.below(bytes.len())]).await;
        }
        5 | 6 => {
            let first: &[u8] = if rng.one_in(2) {
                &[0xC0, 0x00]
            } else {
                &[0x30, 0x03, 0x00, 0x01, b'a']
            };
            if c.send_raw(first).await
                && let Err(why) = c.wait_closed(ANSWER + SLACK).await
            {
                shared.finding(format!(
                    "[MQTT-3.1.0-1] a first packet {first:02x?} other than CONNECT did not \
                     close the connection: {why}"
                ));
            }
        }
        _ => {
            c.send_raw(&bytes[..rng.below(bytes.len())]).await;
            let limit = shared.connect_timeout + SLACK;
            if let Err(why) = c.wait_closed(limit).await {
                shared.finding(format!(
                    "a connection without a complete CONNECT was not closed by \
                     connect_timeout ({:?}): {why}",
                    shared.connect_timeout
                ));
            }
        }
    }
}

/// A fixed header declaring up to 256 MiB, then a trickle of its body.
async fn huge(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let header = packets::huge_header(rng);
    let mut conn = if rng.one_in(2) {
        match shared.open(ReadMode::Lenient, rng, ws).await {
            Some(c) => c,
            None => return,
        }
    } else {
        match random_session(shared, rng, ws).await {
            Some(s) => s.conn,
            None => return,
        }
    };
    if !conn.send_raw(&header).await {
        return;
    }
    for _ in 0..rng.below(5) {
        if !conn.send_raw(&rng.bytes(1024)).await {
            return;
        }
    }
    conn.next(Duration::from_millis(rng.below(100) as u64))
        .await;
}

/// A client with a keep alive of 1 or 2 s that goes silent: the broker must close the
/// connection after one and a half keep alive periods [MQTT-3.1.2-24].
async fn silent(shared: &Arc<Shared>, rng: &mut Rng, ws: bool) {
    let version = packets::version(rng);
    let id = client_id(rng);
    let mut connect = packets::connect(rng, version, &id);
    connect.keep_alive = rng.range(1, 2) as u16;
    if connect.client_id.is_empty() && version.is_v5() {
        let mut p = connect.properties.clone().into_inner();
        p.session_expiry_interval = None;
        connect.properties = p.into();
    }
    let Some(mut s) = Session::start_with(shared, rng, connect, ws).await else {
        return;
    };
    let keep_alive = s
        .connack
        .properties
        .server_keep_alive
        .unwrap_or(s.connect.keep_alive);
    if keep_alive == 0 {
        return;
    }
    let limit = Duration::from_millis(u64::from(keep_alive) * 1500) + SLACK;
    if let Err(why) = s.conn.wait_closed(limit).await {
        shared.finding(format!(
            "[MQTT-3.1.2-24] a silent client with keep alive {keep_alive} s was not \
             disconnected: {why}"
        ));
    }
}
