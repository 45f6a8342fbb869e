//! The protocol trace: every packet the page sent and received, in order, bounded in count
//! and bytes. [`summary`] reads one packet as a row (type, id, flags, reason in words),
//! [`fields`] lists every decoded field and property for the expanded row.

pub mod fields;
pub mod row;
pub mod summary;

use std::collections::VecDeque;
use std::sync::Arc;

use tern_codec::{Packet, PacketType};

use crate::mqtt::tap::Tapped;

/// Packets kept. A classroom demo needs tens; a flood fills this in a few seconds and the
/// oldest go first.
pub const MAX_ENTRIES: usize = 5_000;
/// Wire bytes (and the payloads the decoded packets hold) kept at most.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// 1, 2, 3 … in the order the packets crossed the socket; never reused.
    pub seq: u64,
    /// Milliseconds since the previous packet (either direction); 0 for the first.
    pub delta_ms: u64,
    pub tapped: Tapped,
}

impl TraceEntry {
    pub fn packet_type(&self) -> PacketType {
        self.tapped.packet.packet_type()
    }

    /// Keep-alive traffic, which the view can hide.
    pub fn is_ping(&self) -> bool {
        matches!(self.tapped.packet, Packet::PingReq | Packet::PingResp)
    }

    fn weight(&self) -> usize {
        let payload = match &self.tapped.packet {
            Packet::Publish(p) => p.payload.len(),
            _ => 0,
        };
        self.tapped.raw.len() + payload
    }
}

/// A window of the trace, oldest first, with how many matching packets lie outside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TracePage {
    pub rows: Vec<Arc<TraceEntry>>,
    pub older: usize,
    pub newer: usize,
}

#[derive(Debug, Clone, Default)]
pub struct TraceLog {
    entries: VecDeque<Arc<TraceEntry>>,
    bytes: usize,
    dropped: u64,
    next_seq: u64,
    last_at: Option<u64>,
}

impl TraceLog {
    pub fn push(&mut self, tapped: Tapped) {
        self.next_seq += 1;
        let delta_ms = self.last_at.map_or(0, |t| tapped.at_ms.saturating_sub(t));
        self.last_at = Some(tapped.at_ms);
        let entry = TraceEntry {
            seq: self.next_seq,
            delta_ms,
            tapped,
        };
        self.bytes += entry.weight();
        self.entries.push_back(Arc::new(entry));
        while self.entries.len() > MAX_ENTRIES || (self.bytes > MAX_BYTES && self.entries.len() > 1)
        {
            if let Some(gone) = self.entries.pop_front() {
                self.bytes -= gone.weight();
                self.dropped += 1;
            }
        }
    }

    /// Empties the trace; sequence numbers go on (a cleared row never comes back).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
        self.dropped = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packets dropped to stay within the bounds since the last clear.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The sequence number the next packet will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq + 1
    }

    /// Every kept packet, oldest first, optionally without pings.
    pub fn iter(&self, hide_pings: bool) -> impl Iterator<Item = &Arc<TraceEntry>> {
        self.entries
            .iter()
            .filter(move |e| !(hide_pings && e.is_ping()))
    }

    /// Packets from `seq` on (what an experiment caused), oldest first.
    pub fn since(&self, seq: u64) -> Vec<Arc<TraceEntry>> {
        self.entries
            .iter()
            .filter(|e| e.seq >= seq)
            .cloned()
            .collect()
    }

    /// At most `limit` matching packets ending at `until` (a sequence number, inclusive), or
    /// the newest ones when `until` is `None`. The view renders only this window.
    pub fn page(&self, hide_pings: bool, until: Option<u64>, limit: usize) -> TracePage {
        let matching: Vec<&Arc<TraceEntry>> = self.iter(hide_pings).collect();
        let end = match until {
            None => matching.len(),
            Some(s) => matching.partition_point(|e| e.seq <= s),
        };
        let start = end.saturating_sub(limit);
        TracePage {
            rows: matching[start..end].iter().map(|e| Arc::clone(e)).collect(),
            older: start,
            newer: matching.len() - end,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
