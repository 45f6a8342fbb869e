//! Batching inside one session: handling the input already buffered before writing the
//! answers in one go, and pulling queued messages until the window is full. (Pausing input
//! while a subscriber our publishes go to is congested is flow control: `broker::flow`.)

use std::sync::Arc;

use futures_util::FutureExt;
use tern_codec::Packet;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use super::{Close, INPUT_BATCH, SLOW_CONSUMER_WAIT, Session, WRITE_HIGH_WATER, WRITE_READ_STOP};
use crate::broker::Congestion;
use crate::connection::{PacketReader, PacketWriter};

impl Session {
    /// Handles packets that are already complete in the read buffer (bounded, and not past
    /// a congestion or a full write buffer).
    pub(super) fn handle_buffered<R, W>(
        &mut self,
        reader: &mut PacketReader<R>,
        writer: &mut PacketWriter<W>,
    ) -> Result<(), Close>
    where
        R: AsyncRead + Unpin + Send,
        W: AsyncWrite + Unpin + Send,
    {
        let broker = self.broker.clone();
        let stats = broker.stats();
        let notify = Arc::clone(&self.notify);
        for _ in 0..INPUT_BATCH {
            if self.congestion.is_some()
                || self.barrier.is_some()
                || writer.pending() >= WRITE_READ_STOP
                || self.held.len() >= super::held::HELD_READ_STOP
            {
                break;
            }
            match reader.try_next(stats) {
                Ok(Some(packet)) => {
                    // Answer in order: what the packets handled so far queued for us (our own
                    // PUBLISH to a matching subscription, the window refilled by an ack) goes
                    // out before this packet's answer, as if handled one by one. Acks from
                    // the client have no answer, so a run of them costs one pull, not one each.
                    if !matches!(packet, Packet::PubAck(_) | Packet::PubComp(_)) {
                        if notify.notified().now_or_never().is_some() {
                            self.want_pull = true;
                        }
                        self.pull_all(writer)?;
                    }
                    self.handle(packet, writer)?;
                }
                Ok(None) => break,
                Err(e) => return Err(Close::from_read_error(e)),
            }
        }
        Ok(())
    }

    /// Pulls until the window is full, the queue is empty or output backs up. A pull can
    /// make room without sending (expired or oversized messages are discarded), so one pull
    /// per wake-up is not enough.
    pub(super) fn pull_all<W: AsyncWrite + Unpin>(
        &mut self,
        writer: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        while self.want_pull
            && writer.pending() < WRITE_HIGH_WATER
            && self.held.len() < super::held::HELD_READ_STOP
        {
            if !self.pull(writer)? {
                break;
            }
        }
        Ok(())
    }

    /// Notes that our last PUBLISH congested a subscriber (first one wins).
    pub(super) fn note_congestion(&mut self, c: Option<Congestion>) {
        if self.congestion.is_none()
            && let Some(c) = c
        {
            self.congestion = Some((c, Instant::now() + SLOW_CONSUMER_WAIT));
        }
    }
}
