//! Read-only views of the running broker and the few actions an operator may take (the
//! admin API, `admin/`). Every view is a page: it takes the lock once and walks the sorted
//! client ids (or topics) from a cursor, so its cost is the page's size, never the number of
//! sessions.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;

use super::{Broker, Message};
use crate::store::{AdminAction, NEVER_EXPIRES, Op, StoredSession};

/// One page of a listing; `next` is the cursor for the following page, if there is one.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// Client id (or topic) prefix filter.
    pub prefix: &'a str,
    /// Cursor from the previous page (exclusive).
    pub after: Option<&'a str>,
    pub limit: usize,
}

/// A connected client.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub username: Option<String>,
    pub address: String,
    pub transport: &'static str,
    pub protocol: &'static str,
    pub keep_alive: u16,
    /// UNIX milliseconds.
    pub connected_at: u64,
    pub subscriptions: usize,
    pub inflight: u32,
    pub queued: usize,
    pub messages_in: u64,
    pub messages_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// A session, connected or not.
#[derive(Debug, Serialize)]
pub struct SessionView {
    pub client_id: String,
    pub connected: bool,
    /// Session Expiry Interval in seconds; `None` = never expires.
    pub expiry_interval: Option<u32>,
    /// Seconds until an offline session expires.
    pub expires_in: Option<u64>,
    pub subscriptions: usize,
    pub queued: usize,
    pub inflight: usize,
    pub persistent: bool,
}

/// One subscription.
#[derive(Debug, Serialize)]
pub struct SubscriptionView {
    pub client_id: String,
    pub filter: String,
    pub qos: u8,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
    pub subscription_identifier: Option<u32>,
}

/// One retained message; the payload as text when it is UTF-8, else base64.
#[derive(Debug, Serialize)]
pub struct RetainedView {
    pub topic: String,
    pub qos: u8,
    pub size: usize,
    pub payload: String,
    pub payload_encoding: &'static str,
}

fn client(s: &StoredSession) -> Option<ClientView> {
    let live = s.live.as_ref()?;
    let i = &live.info;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    Some(ClientView {
        client_id: s.client_id.to_string(),
        username: i.username.as_ref().map(ToString::to_string),
        address: i.peer.to_string(),
        transport: i.transport,
        protocol: i.protocol,
        keep_alive: i.keep_alive,
        connected_at: i.connected_at,
        subscriptions: s.subscriptions.len(),
        inflight: i.inflight.load(Ordering::Relaxed),
        queued: s.queue.len(),
        messages_in: get(&i.messages_in),
        messages_out: get(&i.messages_out),
        bytes_in: get(&i.bytes_in),
        bytes_out: get(&i.bytes_out),
    })
}

fn session(s: &StoredSession, now: Instant) -> SessionView {
    SessionView {
        client_id: s.client_id.to_string(),
        connected: s.live.is_some(),
        expiry_interval: (s.expiry != NEVER_EXPIRES).then_some(s.expiry),
        expires_in: s
            .expires_at()
            .map(|t| t.saturating_duration_since(now).as_secs()),
        subscriptions: s.subscriptions.len(),
        queued: s.queue.len(),
        inflight: s.inflight.len(),
        persistent: s.expiry > 0,
    }
}

fn retained(m: &Arc<Message>) -> RetainedView {
    use base64::Engine;
    let (payload, payload_encoding) = match std::str::from_utf8(&m.payload) {
        Ok(t) => (t.to_owned(), "utf-8"),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&m.payload),
            "base64",
        ),
    };
    RetainedView {
        topic: m.topic.to_string(),
        qos: m.qos as u8,
        size: m.payload.len(),
        payload,
        payload_encoding,
    }
}

impl Broker {
    /// Connected clients in client-id order.
    pub fn clients_page(&self, req: PageRequest<'_>) -> Page<ClientView> {
        let st = self.lock();
        let mut it = st.sessions.page(req.prefix, req.after, true);
        let items: Vec<ClientView> = it.by_ref().take(req.limit).filter_map(client).collect();
        let next = more(&items, req.limit, &mut it, |c: &ClientView| {
            c.client_id.clone()
        });
        Page { items, next }
    }

    /// Sessions (connected and offline) in client-id order.
    pub fn sessions_page(&self, req: PageRequest<'_>) -> Page<SessionView> {
        let now = Instant::now();
        let st = self.lock();
        let mut it = st.sessions.page(req.prefix, req.after, false);
        let items: Vec<SessionView> = it
            .by_ref()
            .take(req.limit)
            .map(|s| session(s, now))
            .collect();
        let next = more(&items, req.limit, &mut it, |s: &SessionView| {
            s.client_id.clone()
        });
        Page { items, next }
    }

    /// Subscriptions in (client id, filter) order; the cursor is `client_id` NUL `filter`
    /// in URL-safe base64 (or a plain client id: the page starts after its subscriptions).
    pub fn subscriptions_page(&self, req: PageRequest<'_>) -> Page<SubscriptionView> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let decoded = req
            .after
            .and_then(|a| b64.decode(a).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let st = self.lock();
        let (after_client, after_filter) = match decoded.as_deref().and_then(|a| a.split_once('\0'))
        {
            Some((c, f)) => (Some(c), Some(f)),
            None => (req.after, None),
        };
        // The cursor's own session may have filters left after `after_filter`.
        let first = after_client
            .and_then(|c| st.sessions.key_of(c))
            .and_then(|k| st.sessions.get(k));
        let mut items = Vec::new();
        let mut next = None;
        let sessions = first
            .filter(|_| after_filter.is_some())
            .into_iter()
            .chain(st.sessions.page(req.prefix, after_client, false));
        'outer: for s in sessions {
            let mut filters: Vec<_> = s.subscriptions.iter().collect();
            filters.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (filter, (o, id)) in filters {
                if Some(&*s.client_id) == after_client
                    && after_filter.is_some_and(|f| &**filter <= f)
                {
                    continue;
                }
                if items.len() == req.limit {
                    next = items
                        .last()
                        .map(|v: &SubscriptionView| format!("{}\0{}", v.client_id, v.filter));
                    break 'outer;
                }
                items.push(SubscriptionView {
                    client_id: s.client_id.to_string(),
                    filter: filter.to_string(),
                    qos: o.qos as u8,
                    no_local: o.no_local,
                    retain_as_published: o.retain_as_published,
                    retain_handling: o.retain_handling as u8,
                    subscription_identifier: id.map(|i| i.get()),
                });
            }
        }
        Page { items, next }
    }

    /// Retained messages in topic order.
    pub fn retained_page(&self, req: PageRequest<'_>) -> Page<RetainedView> {
        let st = self.lock();
        let mut it = st.retained.page(req.prefix, req.after);
        let items: Vec<RetainedView> = it.by_ref().take(req.limit).map(retained).collect();
        let next = more(&items, req.limit, &mut it, |r: &RetainedView| {
            r.topic.clone()
        });
        Page { items, next }
    }

    /// Disconnects a connected client (v5 DISCONNECT 0x98 Administrative action); with
    /// `discard`, its session goes too, also when it is offline. `false` when there is no
    /// such client (or session).
    pub fn admin_disconnect(&self, client_id: &str, discard: bool) -> bool {
        let mut st = self.lock();
        let Some(key) = st.sessions.key_of(client_id) else {
            return false;
        };
        let live = st.sessions.get(key).and_then(|s| s.live.clone());
        match live {
            Some(l) => {
                let action = if discard {
                    AdminAction::Discard
                } else {
                    AdminAction::Disconnect
                };
                l.info.set_admin(action);
                l.kick.cancel();
                true
            }
            None if discard => {
                self.end_session(&mut st, key);
                self.commit(&mut st);
                true
            }
            None => false,
        }
    }

    /// Removes the retained message of `topic` (as an empty retained PUBLISH would, but
    /// without routing anything). `false` when there was none.
    pub fn admin_clear_retained(&self, topic: &str) -> bool {
        let mut st = self.lock();
        let removed = st.retained.remove(topic).is_some();
        if removed && self.inner.durable && !topic.starts_with("$SYS/") {
            st.ops.push(Op::Retain {
                topic: topic.into(),
                msg: None,
            });
            self.commit(&mut st);
        }
        removed
    }
}

/// The cursor for the next page: the last item's key when the page is full and the walk
/// has more.
fn more<T, I: Iterator>(
    items: &[T],
    limit: usize,
    rest: &mut I,
    key: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() < limit || rest.next().is_none() {
        return None;
    }
    items.last().map(key)
}
