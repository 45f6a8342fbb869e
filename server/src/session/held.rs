//! Answers held until what they acknowledge is stored.
//!
//! With a durable store, a PUBACK / PUBREC / PUBCOMP / SUBACK / UNSUBACK, an outgoing QoS 2
//! PUBLISH and a PUBREL may only leave once the change they stand for is committed (see
//! `store::durable`). The session never blocks on the disk: such a packet waits in a FIFO
//! with its commit number while the session keeps reading and writing, and goes out when the
//! store announces that commit. Everything emitted after a held packet waits behind it, so
//! the client sees every answer in order ([MQTT-4.6.0-2..4]) and deliveries stay in order.
//! Without a durable store every commit number is 0 and packets go straight out.

use tern_codec::Packet;
use tokio::io::AsyncWrite;

use super::{Close, Session};
use crate::broker::Commit;
use crate::connection::PacketWriter;

/// Stop reading input while this many answers wait for a commit (a 3.1.1 client is told no
/// Receive Maximum and may keep publishing QoS 1 without waiting for PUBACKs).
pub(super) const HELD_READ_STOP: usize = 1024;

impl Session {
    /// Whether `commit` is stored (0: nothing to wait for).
    fn is_committed(&self, commit: Commit) -> bool {
        commit == 0
            || self
                .commits
                .as_ref()
                .is_none_or(|rx| *rx.borrow() >= commit)
    }

    /// Writes `packet` once `commit` is stored and everything held before it went out.
    pub(super) fn emit<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut PacketWriter<W>,
        packet: Packet,
        commit: Commit,
    ) -> Result<(), Close> {
        if self.held.is_empty() && self.is_committed(commit) {
            return self.send(w, &packet);
        }
        self.held.push_back((commit, packet));
        Ok(())
    }

    /// Writes the held packets whose commit is now stored, in order.
    pub(super) fn release_held<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        while let Some((commit, _)) = self.held.front() {
            if !self.is_committed(*commit) {
                break;
            }
            if let Some((_, packet)) = self.held.pop_front() {
                self.send(w, &packet)?;
            }
        }
        Ok(())
    }

    /// At the end of a connection: waits (bounded) for what is held, so the client gets the
    /// acknowledgements of everything that was stored.
    pub(super) async fn drain_held<W: AsyncWrite + Unpin>(&mut self, w: &mut PacketWriter<W>) {
        let Some(mut rx) = self.commits.clone() else {
            return;
        };
        let wait = async {
            while !self.held.is_empty() {
                if self.release_held(w).is_err() || self.held.is_empty() {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), wait).await;
    }
}
