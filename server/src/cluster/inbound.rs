//! The tasks that carry messages between this node and NATS:
//!
//! * [`send_live`]: QoS 0 messages published here, to core NATS (at most once).
//! * [`read_live`]: one per filter this node subscribes to, QoS 0 messages of other nodes.
//! * [`read_member`]: one per local member of a shared subscription (a NATS queue group:
//!   NATS picks one member cluster-wide per message).
//! * [`route_stored`]: the message stream (every QoS 1/2 message, this node's own too) in
//!   its order, through an ordered consumer that NATS recreates from the last position
//!   after a reconnect, so nothing is skipped when a NATS server goes away.
//! * [`mirror_retained`]: the retained stream into this node's retained store.
//! * [`pull_shared`]: a shared group's durable consumer (QoS 1/2), pulled while the group
//!   has a member here; a message no member here can take goes back to NATS for another
//!   node.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull, push};
use bytestring::ByteString;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::node::{Node, RETAINED_STREAM, subject_of};
use super::subject::{self, Kind};
use super::wire;
use crate::store::{Message, SessionKey};

/// Sends QoS 0 messages of this node to the others, in order.
pub(super) async fn send_live(
    node: Arc<Node>,
    mut rx: mpsc::Receiver<(Arc<Message>, Option<SessionKey>)>,
) {
    loop {
        let next = tokio::select! {
            () = node.stop.cancelled() => return,
            m = rx.recv() => m,
        };
        let Some((msg, origin)) = next else { return };
        let Some(subject) = subject_of(Kind::Live, &msg.topic) else {
            continue;
        };
        let Some(payload) = wire::encode(&msg) else {
            continue;
        };
        let headers = wire::headers(&node.id, origin);
        if let Err(e) = node
            .client
            .publish_with_headers(subject, headers, payload)
            .await
        {
            tracing::debug!("cluster: QoS 0 message not sent: {e}");
        }
    }
}

/// QoS 0 messages of other nodes for `filter`.
pub(super) async fn read_live(
    node: Arc<Node>,
    filter: ByteString,
    mut sub: async_nats::Subscriber,
) {
    while let Some(m) = sub.next().await {
        let Some(d) = wire::decode(&m.payload, m.headers.as_ref(), &node.id) else {
            continue;
        };
        // This node's own messages were routed here when they were published.
        if d.mine || d.expired {
            continue;
        }
        let Some(broker) = node.broker() else { return };
        broker.deliver_live(&filter, d.msg);
    }
}

/// QoS 0 messages NATS chose the member `key` of `$share/{group}/{filter}` for.
pub(super) async fn read_member(
    node: Arc<Node>,
    group: ByteString,
    filter: ByteString,
    key: SessionKey,
    mut sub: async_nats::Subscriber,
) {
    while let Some(m) = sub.next().await {
        let Some(d) = wire::decode(&m.payload, m.headers.as_ref(), &node.id) else {
            continue;
        };
        if d.expired {
            continue;
        }
        let Some(broker) = node.broker() else { return };
        broker.deliver_member(&group, &filter, key, d.msg);
    }
}

/// Routes the message stream from where this node started, in order.
pub(super) async fn route_stored(node: Arc<Node>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(broker) = node.broker() else { return };
        let from = broker.stream_position() + 1;
        drop(broker);
        let consumer = node
            .msgs
            .create_consumer(push::OrderedConfig {
                deliver_subject: node.client.new_inbox(),
                filter_subject: Kind::Stored.all(),
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ..Default::default()
            })
            .await;
        let messages = match consumer {
            Ok(c) => c.messages().await,
            Err(e) => {
                tracing::warn!("cluster: message stream consumer: {e}; retrying");
                tokio::select! {
                    () = node.stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let mut messages = match messages {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("cluster: message stream consumer: {e}; retrying");
                continue;
            }
        };
        delay = Duration::from_millis(100);
        loop {
            let next = tokio::select! {
                () = node.stop.cancelled() => return,
                m = messages.next() => m,
            };
            match next {
                Some(Ok(m)) => {
                    let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                        continue;
                    };
                    let Some(broker) = node.broker() else { return };
                    match wire::decode(&m.payload, m.headers.as_ref(), &node.id) {
                        Some(d) if !d.expired => broker.deliver_stored(seq, d.msg),
                        // Nothing to deliver, but the position moves on.
                        _ => broker.start_stream_at(seq),
                    }
                }
                Some(Err(e)) => tracing::warn!("cluster: message stream: {e}"),
                None => break,
            }
        }
    }
}

/// Keeps this node's retained store equal to the retained stream.
pub(super) async fn mirror_retained(node: Arc<Node>) {
    let mut first = true;
    loop {
        let from = *node.mirror_pos.borrow();
        let stream = node.js.get_stream(RETAINED_STREAM).await;
        let consumer = match stream {
            Ok(s) => {
                s.create_consumer(push::OrderedConfig {
                    deliver_subject: node.client.new_inbox(),
                    filter_subject: Kind::Retained.all(),
                    // At start every topic's current message, then every change.
                    deliver_policy: if first {
                        DeliverPolicy::LastPerSubject
                    } else {
                        DeliverPolicy::ByStartSequence {
                            start_sequence: from + 1,
                        }
                    },
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let messages = match consumer {
            Ok(c) => c.messages().await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let mut messages = match messages {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("cluster: retained stream consumer: {e}; retrying");
                tokio::select! {
                    () = node.stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
        };
        first = false;
        loop {
            let next = tokio::select! {
                () = node.stop.cancelled() => return,
                m = messages.next() => m,
            };
            match next {
                Some(Ok(m)) => {
                    let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                        continue;
                    };
                    if let Some(d) = wire::decode(&m.payload, m.headers.as_ref(), &node.id)
                        && let Some(broker) = node.broker()
                    {
                        let mut msg = d.msg;
                        if d.expired {
                            // Expired while stored: the topic has no retained message.
                            msg.payload = bytes::Bytes::new();
                        }
                        broker.mirror_retained(msg);
                    }
                    node.mirror_pos.send_replace(seq);
                }
                Some(Err(e)) => tracing::warn!("cluster: retained stream: {e}"),
                None => break,
            }
        }
    }
}

/// The durable consumer of `$share/{group}/{filter}` on the message stream (QoS 1/2
/// messages of the group), created if missing; its name. Awaited before the member's SUBACK,
/// so a message published after it is kept for the group.
pub(super) async fn share_consumer(
    node: &Node,
    group: &str,
    filter: &str,
) -> Result<String, String> {
    let filter_subject = subject::filter_subject(Kind::Stored, filter).ok_or("filter too long")?;
    let name = format!("share-{:016x}", subject::stable_hash(group, filter));
    node.msgs
        .get_or_create_consumer(
            &name,
            pull::Config {
                durable_name: Some(name.clone()),
                description: Some(format!("$share/{group}/{filter}")),
                filter_subject,
                deliver_policy: DeliverPolicy::New,
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_ack_pending: 1000,
                // A group nobody uses any more goes away by itself.
                inactive_threshold: Duration::from_secs(24 * 3600),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(name)
}

/// Pulls the group's consumer while this node has a member of it; aborted with the last.
pub(super) async fn pull_shared(node: Arc<Node>, group: ByteString, filter: ByteString) {
    let mut delay = Duration::from_millis(100);
    loop {
        let result = match share_consumer(&node, &group, &filter).await {
            Ok(name) => pull_loop(&node, &group, &filter, &name).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(%group, %filter, "cluster: shared subscription: {e}; retrying");
        }
        tokio::select! {
            () = node.stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Pulls `consumer` of the message stream through one long-lived inbox: short requests (1 s),
/// renewed as they end. One inbox for all requests matters: NATS drops a pull request whose
/// reply subject has no interest yet on the consumer leader's server, and a fresh inbox per
/// request (as the client's `fetch` makes) races the interest's way through the NATS
/// cluster every time — the nodes far from the leader would never get a message.
async fn pull_loop(
    node: &Arc<Node>,
    group: &ByteString,
    filter: &ByteString,
    consumer: &str,
) -> Result<(), String> {
    const BATCH: usize = 16;
    let inbox = node.client.new_inbox();
    let mut sub = node
        .client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| e.to_string())?;
    node.client.flush().await.map_err(|e| e.to_string())?;
    let next = format!(
        "$JS.API.CONSUMER.MSG.NEXT.{}.{consumer}",
        super::node::MSG_STREAM
    );
    let request = format!(r#"{{"batch":{BATCH},"expires":1000000000}}"#);
    loop {
        node.client
            .publish_with_reply(next.clone(), inbox.clone(), request.clone().into())
            .await
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        let mut got = 0;
        while got < BATCH {
            let m = tokio::select! {
                () = node.stop.cancelled() => return Ok(()),
                m = tokio::time::timeout_at(deadline, sub.next()) => m,
            };
            let Ok(Some(m)) = m else { break };
            if m.status.is_some() {
                // 408 the request expired, 409 the consumer changed, 100 heartbeat.
                if m.status != Some(async_nats::StatusCode::IDLE_HEARTBEAT) {
                    break;
                }
                continue;
            }
            got += 1;
            let m = async_nats::jetstream::Message {
                message: m,
                context: node.js.clone(),
            };
            let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                continue;
            };
            let Some(broker) = node.broker() else {
                return Ok(());
            };
            let taken = match wire::decode(&m.payload, m.headers.as_ref(), &node.id) {
                Some(d) if !d.expired => broker.deliver_shared(group, filter, seq, d.msg).is_some(),
                _ => true,
            };
            tracing::debug!(%group, %filter, node = %node.id, seq, taken, "cluster: shared message");
            // A message no member here can take goes back, for another node.
            let ack = if taken {
                AckKind::Ack
            } else {
                AckKind::Nak(Some(Duration::from_millis(100)))
            };
            if let Err(e) = m.ack_with(ack).await {
                tracing::debug!("cluster: shared subscription ack: {e}");
            }
        }
    }
}
