//! Why a connection ends, what the client is told (v5 DISCONNECT with a reason code
//! [MQTT-4.13.1-1]), the one log line per violation, the will, and handing the session back.

use std::borrow::Cow;
use std::io;
use std::time::{Duration, Instant};

use tern_codec::{Disconnect, DisconnectProperties, Packet, ReasonCode, encoded_len};
use tokio::io::AsyncWrite;

use super::Session;
use crate::broker::Detach;
use crate::connection::{PacketWriter, ReadError};

/// Bound on writing the final packets of a connection.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a connection ends.
#[derive(Debug)]
pub(crate) enum Close {
    /// The client sent DISCONNECT; `send_will` for any v5 reason other than 0x00
    /// [MQTT-3.14.4-3] (0x04 Disconnect with Will Message in particular).
    Disconnect {
        send_will: bool,
    },
    /// The client closed the stream between packets.
    Eof,
    Io(io::Error),
    /// The client broke a rule: closed with `code` (v5) after logging `rule`.
    Violation {
        code: ReasonCode,
        rule: Cow<'static, str>,
    },
    /// No packet within 1.5 × keep alive [MQTT-3.1.2-24].
    KeepAlive,
    /// Another connection took the session over [MQTT-3.1.4-3].
    TakenOver,
    /// An administrator disconnected the client (admin API); with `discard` its session
    /// ends too.
    Administrative {
        discard: bool,
    },
    Shutdown,
}

impl Close {
    pub(crate) fn violation(code: ReasonCode, rule: impl Into<Cow<'static, str>>) -> Close {
        Close::Violation {
            code,
            rule: rule.into(),
        }
    }

    pub(crate) fn from_read_error(e: ReadError) -> Close {
        match e {
            // The codec's reason code: 0x81 malformed, 0x82 protocol error, 0x94 topic alias 0,
            // 0x95 too large...
            ReadError::Decode(d) => Close::violation(d.reason_code(), d.to_string()),
            ReadError::TruncatedPacket => Close::violation(
                ReasonCode::MalformedPacket,
                "[MQTT-4.8.0-1] connection closed inside a packet",
            ),
            ReadError::Io(e) if e.kind() == io::ErrorKind::InvalidData => {
                // The WebSocket adapter reports a text frame this way [MQTT-6.0.0-1].
                Close::violation(ReasonCode::MalformedPacket, e.to_string())
            }
            ReadError::Io(e) => Close::Io(e),
        }
    }

    /// The DISCONNECT reason a v5 client gets, if any.
    fn reason(&self) -> Option<ReasonCode> {
        match self {
            Close::Violation { code, .. } => Some(*code),
            Close::KeepAlive => Some(ReasonCode::KeepAliveTimeout),
            Close::TakenOver => Some(ReasonCode::SessionTakenOver),
            Close::Administrative { .. } => Some(ReasonCode::AdministrativeAction),
            Close::Shutdown => Some(ReasonCode::ServerShuttingDown),
            Close::Disconnect { .. } | Close::Eof | Close::Io(_) => None,
        }
    }

    fn sends_will(&self) -> bool {
        // The will is published on every close that is not a normal DISCONNECT
        // [MQTT-3.1.2-8, MQTT-3.1.2-10].
        !matches!(self, Close::Disconnect { send_will: false })
    }
}

impl Session {
    /// Ends the connection: tells the client why (v5), logs, flushes (bounded), hands the
    /// session back to the broker (publishing or scheduling the will) and closes.
    pub(super) async fn finish<W: AsyncWrite + Unpin>(
        mut self,
        close: Close,
        writer: &mut PacketWriter<W>,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        // Peer and client id are fields of each event rather than of a per-connection span,
        // which cost ~365 B per idle connection (see README "Performance notes").
        let (peer, transport, client_id) = (self.peer, self.transport, &self.client_id);
        match &close {
            Close::Violation { code, rule } => {
                tracing::warn!(%peer, %transport, %client_id, reason = %code, "closing connection: {rule}");
            }
            Close::Io(e) => {
                tracing::info!(%peer, %transport, %client_id, error = %e, "connection lost")
            }
            Close::KeepAlive => tracing::info!(
                %peer,
                %transport,
                %client_id,
                keep_alive = self.keep_alive,
                "closing connection: [MQTT-3.1.2-24] keep alive timed out"
            ),
            Close::Administrative { discard } => tracing::info!(
                %peer,
                %transport,
                %client_id,
                discard,
                "closing connection: disconnected by an administrator"
            ),
            Close::TakenOver => tracing::info!(
                %peer,
                %transport,
                %client_id,
                "closing connection: [MQTT-3.1.4-3] session taken over"
            ),
            Close::Shutdown => tracing::debug!(
                %peer,
                %transport,
                %client_id,
                "closing connection: server shutting down"
            ),
            Close::Disconnect { .. } => {
                tracing::debug!(%peer, %transport, %client_id, "client disconnected")
            }
            Close::Eof => tracing::info!(
                %peer,
                %transport,
                %client_id,
                "client closed the connection without DISCONNECT"
            ),
        }

        // Acknowledgements of what was stored before the end still reach the client.
        if !matches!(close, Close::Io(_)) {
            self.drain_held(writer).await;
        }
        if self.version.is_v5()
            && let Some(reason) = close.reason()
        {
            let rule = match &close {
                Close::Violation { rule, .. } => Some(rule.as_ref()),
                _ => None,
            };
            let packet = self.disconnect_packet(reason, rule);
            // A failure here only means the client cannot be told.
            let _ = self.send(writer, &packet);
        }

        let will = if close.sends_will() {
            self.will.take()
        } else {
            None
        };
        let will = will.map(|w| {
            let (mut msg, delay, expiry) = *w;
            // The Message Expiry Interval runs from when the will is published.
            msg.expires_at = expiry.map(|secs| {
                Instant::now() + Duration::from_secs(u64::from(delay) + u64::from(secs))
            });
            (msg, delay)
        });
        let inflight = std::mem::take(&mut self.inflight).into();
        self.broker.detach(Detach {
            key: self.key,
            conn_id: self.conn_id,
            will,
            // Discarded by an administrator: the session ends with the connection.
            expiry: if matches!(close, Close::Administrative { discard: true }) {
                0
            } else {
                self.expiry
            },
            inflight,
            incoming_qos2: std::mem::take(&mut self.incoming_qos2),
        });
        // Lets a waiting takeover proceed.
        self.done.cancel();
        drop(permit);

        if !matches!(close, Close::Io(_)) {
            let _ = tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, writer.close()).await;
        }
    }

    /// DISCONNECT with `reason`, and the rule as Reason String when the client allows it and
    /// it fits the client's Maximum Packet Size [MQTT-3.14.2-3].
    fn disconnect_packet(&self, reason: ReasonCode, rule: Option<&str>) -> Packet {
        let plain = Packet::Disconnect(Disconnect {
            reason,
            properties: DisconnectProperties::default().into(),
        });
        let Some(rule) = rule.filter(|_| self.problem_info) else {
            return plain;
        };
        let rich = Packet::Disconnect(Disconnect {
            reason,
            properties: DisconnectProperties {
                reason_string: Some(rule.into()),
                ..DisconnectProperties::default()
            }
            .into(),
        });
        match encoded_len(&rich, self.version) {
            Ok(n) if n <= self.client_max_packet as usize => rich,
            _ => plain,
        }
    }
}
