//! The network connection attached to a session, as the store keeps it: how to reach its
//! task, and what an operator sees of it in the admin API (`/api/v1/clients`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

use bytestring::ByteString;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The network connection currently attached to a session (not persisted).
#[derive(Debug, Clone)]
pub struct LiveConnection {
    pub id: u64,
    /// Woken when a message is queued for the session.
    pub notify: Arc<Notify>,
    /// Cancelled to take the connection over [MQTT-3.1.4-3], or by an administrator (then
    /// `info.admin` says so).
    pub kick: CancellationToken,
    /// Cancelled by the connection once it has handed its state back.
    pub done: CancellationToken,
    /// Woken when the queue drains below the congestion mark (publishers wait on it).
    pub drained: Arc<Notify>,
    pub info: Arc<ConnectionInfo>,
}

/// What an administrator asked of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AdminAction {
    None = 0,
    /// Disconnect (v5 DISCONNECT 0x98 Administrative action); the session stays.
    Disconnect = 1,
    /// Disconnect and discard the session.
    Discard = 2,
}

/// A connection's description and traffic counters. The counters are written by the
/// connection's own task (relaxed atomics on a line nobody else writes) and read by the
/// admin API.
#[derive(Debug)]
pub struct ConnectionInfo {
    pub username: Option<ByteString>,
    pub peer: SocketAddr,
    /// `tcp`, `ws`, `tls` or `wss`.
    pub transport: &'static str,
    /// `3.1`, `3.1.1` or `5.0`.
    pub protocol: &'static str,
    pub keep_alive: u16,
    /// UNIX milliseconds.
    pub connected_at: u64,
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub inflight: AtomicU32,
    admin: AtomicU8,
}

impl ConnectionInfo {
    pub fn new(
        username: Option<ByteString>,
        peer: SocketAddr,
        transport: &'static str,
        protocol: &'static str,
        keep_alive: u16,
    ) -> ConnectionInfo {
        let connected_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        ConnectionInfo {
            username,
            peer,
            transport,
            protocol,
            keep_alive,
            connected_at,
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            inflight: AtomicU32::new(0),
            admin: AtomicU8::new(AdminAction::None as u8),
        }
    }

    /// One packet received (`bytes` on the wire).
    pub fn received(&self, bytes: usize) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes received outside a counted packet (the CONNECT, counted late).
    pub fn received_bytes(&self, bytes: usize) {
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// One packet sent.
    pub fn sent(&self, bytes: usize) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn set_admin(&self, a: AdminAction) {
        self.admin.store(a as u8, Ordering::Release);
    }

    pub fn admin(&self) -> AdminAction {
        match self.admin.load(Ordering::Acquire) {
            1 => AdminAction::Disconnect,
            2 => AdminAction::Discard,
            _ => AdminAction::None,
        }
    }
}
