//! A message as it travels between nodes: the payload is the store's message blob (absolute
//! expiry + the message as an MQTT 5 PUBLISH, so every v5 property survives; see
//! `store::blob`), headers say which node and session published it.
//!
//! Expiry is absolute (UNIX milliseconds): the nodes' clocks must agree to within what the
//! shortest Message Expiry Interval in use tolerates (NTP).

use async_nats::HeaderMap;
use bytes::Bytes;

use crate::store::blob;
use crate::store::{Clock, Message, SessionKey};

/// The node that published the message.
pub const NODE: &str = "Tern-Node";
/// The publishing session on that node (for No Local [MQTT-3.8.3-3]).
pub const SESSION: &str = "Tern-Session";

/// The payload for `msg` (`None` if it cannot be encoded, which a decoded PUBLISH always can).
pub fn encode(msg: &Message) -> Option<Bytes> {
    match blob::encode(msg, Clock::now(), None) {
        Ok(b) => Some(Bytes::from(b)),
        Err(e) => {
            tracing::error!("cluster: {e}");
            None
        }
    }
}

/// Headers naming this node and the publishing session.
pub fn headers(node: &str, origin: Option<SessionKey>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(NODE, node);
    if let Some(k) = origin {
        h.insert(SESSION, k.0.to_string());
    }
    h
}

/// A message from another node (or this one); `None` when it cannot be decoded. `mine`
/// tells whether this node published it (then `origin` is set for No Local).
pub fn decode(payload: &[u8], headers: Option<&HeaderMap>, node: &str) -> Option<Decoded> {
    let d = match blob::decode(payload, Clock::now()) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("cluster: undecodable message ignored: {e}");
            return None;
        }
    };
    let mine = headers
        .and_then(|h| h.get(NODE))
        .is_some_and(|v| v.as_str() == node);
    let mut msg = std::sync::Arc::unwrap_or_clone(d.msg);
    if mine {
        msg.origin = headers
            .and_then(|h| h.get(SESSION))
            .and_then(|v| v.as_str().parse().ok())
            .map(SessionKey);
    }
    Some(Decoded {
        msg,
        mine,
        expired: d.expired,
    })
}

/// See [`decode`].
pub struct Decoded {
    pub msg: Message,
    pub mine: bool,
    /// Its Message Expiry Interval ran out: deliver it to nobody [MQTT-3.3.2-5].
    pub expired: bool,
}
