//! The packet tap: every packet this page sends or receives, with its exact wire bytes and
//! the time, handed by the client to the protocol trace ([`crate::model::trace`]). The
//! socket reports the bytes (encoded per packet on send, cut from the stream on receive),
//! so the trace shows what went over the wire, not a re-encoding.

use bytes::Bytes;
use tern_codec::{Packet, Version};

/// Which way a packet went, seen from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Page → broker.
    Sent,
    /// Broker → page.
    Received,
}

impl Direction {
    pub fn word(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// One packet as it crossed the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tapped {
    pub dir: Direction,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The connection's protocol version (how reason codes and properties are read).
    pub version: Version,
    pub packet: Packet,
    /// Fixed header included.
    pub raw: Bytes,
}
