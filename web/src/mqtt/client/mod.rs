//! The browser-side driver: one [`Session`] across reconnects, one [`Socket`] per attempt,
//! a 1 s timer for keep-alive, and reconnect with exponential back-off and a visible
//! countdown. Protocol decisions are the session's; this module only moves data between it,
//! the socket and the view state ([`Ui`]). [`inner`] holds the state changes.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use bytes::Bytes;
use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use tern_codec::{DecodeConfig, Props, PublishProperties, QoS, TopicFilter, TopicName};

use crate::browser::{self, now_ms};
use crate::mqtt::backoff::Backoff;
use crate::mqtt::explain;
use crate::mqtt::options::MAX_PACKET_SIZE;
use crate::mqtt::session::Session;
use crate::mqtt::socket::{Socket, SocketEvent};
use crate::mqtt::tap::Direction;
use crate::settings::{Target, check_topic_name};
use crate::ui::{Note, Phase, Ui};

/// A WebSocket handshake that has not finished after this long is given up (browsers can
/// wait minutes for a silent host).
const OPEN_TIMEOUT_MS: u64 = 10_000;

mod inner;

#[derive(Clone)]
pub struct Client {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    ui: Ui,
    page_https: bool,
    session: Session,
    socket: Option<Socket>,
    target: Option<Target>,
    /// The user wants to be connected (Connect pressed, Disconnect not).
    want: bool,
    /// Counts sockets; events from an older one are ignored.
    generation: u32,
    opened: bool,
    opening_since: u64,
    accepted_at: Option<u64>,
    backoff: Backoff,
    ticker: Option<Interval>,
    retry: Option<Timeout>,
    countdown: Option<Interval>,
    frame_pending: Rc<Cell<bool>>,
    last_render: Rc<Cell<u64>>,
    /// The page's own subscriptions (the Broker view's `$SYS`, the lesson's experiments):
    /// not in the Subscriptions list, requested again on every connection, and their
    /// messages stay out of the message list and the tree.
    internal: Vec<(TopicFilter, QoS)>,
}

/// Timers and sockets may be replaced from inside their own callbacks; dropping them a
/// turn later keeps their closures alive until they have returned.
fn drop_later<T: 'static>(value: T) {
    Timeout::new(0, move || drop(value)).forget();
}

impl Client {
    pub fn new(ui: Ui, page_https: bool) -> Client {
        Client {
            inner: Rc::new(RefCell::new(Inner {
                ui,
                page_https,
                session: Session::new(),
                socket: None,
                target: None,
                want: false,
                generation: 0,
                opened: false,
                opening_since: 0,
                accepted_at: None,
                backoff: Backoff::default(),
                ticker: None,
                retry: None,
                countdown: None,
                frame_pending: Rc::new(Cell::new(false)),
                last_render: Rc::new(Cell::new(0)),
                internal: Vec::new(),
            })),
        }
    }

    /// Validates the form and connects (replacing any current connection).
    pub fn connect(&self) {
        {
            let mut inner = self.inner.borrow_mut();
            let ui = inner.ui;
            let settings = ui.settings.get_untracked();
            let target = match settings.validate(inner.page_https) {
                Ok(t) => t,
                Err(errors) => {
                    let first = errors
                        .first()
                        .map(|e| e.message.clone())
                        .unwrap_or_default();
                    ui.field_errors.set(errors);
                    ui.set_status(Phase::Failed, format!("Cannot connect: {first}"), None);
                    return;
                }
            };
            ui.field_errors.set(Vec::new());
            browser::save_settings(&settings.to_stored());
            browser::save_client_id(&settings.client_id);
            if let Ok(max) = settings.max_messages.trim().parse::<usize>() {
                ui.log.update(|l| l.set_capacity(max));
            }
            if inner.accepted_at.is_some() {
                inner.session.disconnect();
                inner.flush(now_ms());
            }
            inner.teardown();
            inner.target = Some(target);
            inner.want = true;
            inner.backoff.reset();
        }
        open_socket(&self.inner);
    }

    /// Disconnects on purpose: DISCONNECT first, so the broker drops our will.
    pub fn disconnect(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.want = false;
        if inner.accepted_at.is_some() {
            inner.session.disconnect();
            inner.flush(now_ms());
        }
        inner.teardown();
        inner
            .ui
            .set_status(Phase::Disconnected, "Disconnected.", None);
    }

    /// Skips the rest of the countdown.
    pub fn reconnect_now(&self) {
        if self.inner.borrow().want {
            open_socket(&self.inner);
        }
    }

    /// Publishes from the form; `properties` are already validated (MQTT 5 only).
    pub fn publish(
        &self,
        topic: &str,
        payload: &str,
        qos: QoS,
        retain: bool,
        properties: Props<PublishProperties>,
    ) {
        let mut inner = self.inner.borrow_mut();
        let ui = inner.ui;
        let note = match check_topic_name(topic) {
            Err(text) => Note { ok: false, text },
            Ok(name) => {
                let payload = Bytes::copy_from_slice(payload.as_bytes());
                match inner
                    .session
                    .publish_with(name, payload, qos, retain, properties)
                {
                    Ok(()) => {
                        inner.flush(now_ms());
                        let waiting = match qos {
                            QoS::AtMostOnce => "",
                            QoS::AtLeastOnce => ", waiting for PUBACK…",
                            QoS::ExactlyOnce => ", waiting for PUBREC/PUBCOMP…",
                        };
                        Note {
                            ok: true,
                            text: format!("Published to {topic} (QoS {}){waiting}", qos as u8),
                        }
                    }
                    Err(e) => Note {
                        ok: false,
                        text: explain::publish_error(&e),
                    },
                }
            }
        };
        ui.publish_note.set(Some(note));
    }

    pub fn subscribe(&self, filter: TopicFilter, qos: QoS, color: String) {
        let mut inner = self.inner.borrow_mut();
        inner.ui.subs.update(|s| {
            s.add(filter, qos, color);
        });
        inner.remember_subscriptions();
        if inner.session.is_connected() {
            inner.request_subscriptions();
            inner.flush(now_ms());
        }
    }

    /// Subscribes for the page itself (see `Inner::internal`); repeated calls are no-ops.
    pub fn subscribe_internal(&self, filter: TopicFilter, qos: QoS) {
        let mut inner = self.inner.borrow_mut();
        if inner.internal.iter().any(|(f, _)| *f == filter) {
            return;
        }
        inner.internal.push((filter.clone(), qos));
        if inner.session.is_connected() {
            inner.session.subscribe(vec![(filter, qos)]);
            inner.flush(now_ms());
        }
    }

    /// Ends a subscription made with [`Client::subscribe_internal`].
    pub fn unsubscribe_internal(&self, filter: &TopicFilter) {
        let mut inner = self.inner.borrow_mut();
        let before = inner.internal.len();
        inner.internal.retain(|(f, _)| f != filter);
        if inner.internal.len() != before && inner.session.is_connected() {
            inner.session.unsubscribe(vec![filter.clone()]);
            inner.flush(now_ms());
        }
    }

    /// Publishes for the page itself (the lesson, replay): no note under the Publish form.
    pub fn publish_quiet(
        &self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        properties: Props<PublishProperties>,
    ) -> Result<(), String> {
        let mut inner = self.inner.borrow_mut();
        inner
            .session
            .publish_with(topic, payload, qos, retain, properties)
            .map_err(|e| explain::publish_error(&e))?;
        inner.flush(now_ms());
        Ok(())
    }

    /// The validated connection settings (for a helper connection to the same broker).
    pub fn target(&self) -> Option<Target> {
        self.inner.borrow().target.clone()
    }

    /// Whether the connection is up (CONNACK accepted).
    pub fn is_connected(&self) -> bool {
        self.inner.borrow().session.is_connected()
    }

    pub fn unsubscribe(&self, id: u64) {
        let mut inner = self.inner.borrow_mut();
        let connected = inner.session.is_connected();
        let persistent = inner
            .target
            .as_ref()
            .is_some_and(|t| !t.options.clean_session);
        let now = inner
            .ui
            .subs
            .try_update(|s| s.remove(id, connected, persistent))
            .flatten();
        inner.remember_subscriptions();
        if let Some(filter) = now {
            inner.session.unsubscribe(vec![filter]);
            inner.flush(now_ms());
        }
    }
}

/// Opens a new socket for the current target; events carry the generation they belong to.
fn open_socket(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    inner.teardown();
    let Some(target) = inner.target.clone() else {
        return;
    };
    let generation = inner.generation;
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(rc);
    let on_event: Rc<dyn Fn(SocketEvent)> = Rc::new(move |ev| {
        if let Some(rc) = weak.upgrade() {
            on_socket_event(&rc, generation, ev);
        }
    });
    let cfg = DecodeConfig {
        version: target.options.version,
        max_packet_size: MAX_PACKET_SIZE,
    };
    let ui = inner.ui;
    match Socket::open(&target.url, cfg, on_event) {
        Ok(socket) => {
            inner.socket = Some(socket);
            inner.opening_since = now_ms();
            inner.start_ticker(rc);
            ui.set_status(
                Phase::Connecting,
                format!("Connecting to {} …", target.url),
                None,
            );
        }
        Err(text) => {
            inner.want = false;
            ui.set_status(Phase::Failed, text, None);
        }
    }
}

fn on_socket_event(rc: &Rc<RefCell<Inner>>, generation: u32, ev: SocketEvent) {
    let mut inner = rc.borrow_mut();
    if generation != inner.generation {
        return;
    }
    let url = inner
        .target
        .as_ref()
        .map(|t| t.url.clone())
        .unwrap_or_default();
    match ev {
        SocketEvent::Open { protocol } => {
            if protocol != "mqtt" {
                let text = explain::wrong_subprotocol(&url, &protocol);
                inner.give_up(rc, text, false);
                return;
            }
            inner.opened = true;
            let now = now_ms();
            if let Some(t) = inner.target.clone() {
                inner.session.start(&t.options, now);
            }
            inner.flush(now);
            let ui = inner.ui;
            ui.set_status(
                Phase::Connecting,
                format!("WebSocket open to {url}, waiting for CONNACK…"),
                None,
            );
        }
        SocketEvent::Packet(p, raw) => {
            let now = now_ms();
            inner.tap(Direction::Received, now, p.clone(), raw);
            match inner.session.handle(p, now) {
                Ok(events) => {
                    for e in events {
                        inner.apply(e, now);
                    }
                    inner.flush(now);
                }
                Err(e) => inner.session_failed(rc, &e),
            }
        }
        SocketEvent::Invalid(text) => {
            inner.give_up(rc, format!("The broker sent {text}."), true);
        }
        SocketEvent::Closed { code, reason } => {
            let text = explain::socket_closed(
                &url,
                code,
                &reason,
                inner.opened,
                inner.accepted_at.is_some(),
            );
            inner.give_up(rc, text, true);
        }
    }
}

fn on_tick(rc: &Rc<RefCell<Inner>>) {
    let mut inner = rc.borrow_mut();
    let now = now_ms();
    if !inner.opened {
        if now.saturating_sub(inner.opening_since) > OPEN_TIMEOUT_MS {
            let url = inner
                .target
                .as_ref()
                .map(|t| t.url.clone())
                .unwrap_or_default();
            let text = format!(
                "No answer from {url} within {} s: the host may be unreachable or a firewall \
                 drops the connection.",
                OPEN_TIMEOUT_MS / 1000
            );
            inner.give_up(rc, text, true);
        }
        return;
    }
    match inner.session.tick(now) {
        Ok(()) => inner.flush(now),
        Err(e) => inner.session_failed(rc, &e),
    }
}
