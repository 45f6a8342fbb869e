//! The connection's state changes: applying session events to the view, renders, timers,
//! teardown and the decision to retry.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use tern_codec::{Packet, QoS, Version};

use super::{Inner, drop_later, on_tick, open_socket};
use crate::browser::{self, now_ms};
use crate::model::sys;
use crate::model::trace::summary::words;
use crate::mqtt::backoff::seconds_left;
use crate::mqtt::explain;
use crate::mqtt::session::{Event, SessionError};
use crate::mqtt::tap::{Direction, Tapped};
use crate::settings::SubSetting;
use crate::state::messages::Message;
use crate::ui::{Note, Phase};

/// At most one message-list render per this many milliseconds. Each render is one animation
/// frame and takes everything that arrived since the last one; during a flood this caps
/// layout and paint at ten a second instead of sixty, which keeps the page responsive.
const MIN_RENDER_GAP_MS: u64 = 100;

/// A connection that lasted this long resets the back-off; shorter ones (a broker that
/// accepts and then drops us) keep backing off.
const STABLE_MS: u64 = 10_000;

impl Inner {
    /// Writes whatever the session queued. A failed send means the socket is closing; its
    /// close event follows and is handled there.
    pub(super) fn flush(&mut self, now: u64) {
        let out = self.session.take_outgoing(now);
        let Some(socket) = &self.socket else {
            return;
        };
        if let Ok(raw) = socket.send(&out) {
            for (packet, bytes) in out.into_iter().zip(raw) {
                self.tap(Direction::Sent, now, packet, bytes);
            }
        }
    }

    /// Records a packet that crossed the socket in the protocol trace.
    pub(super) fn tap(&self, dir: Direction, now: u64, packet: Packet, raw: Bytes) {
        let tapped = Tapped {
            dir,
            at_ms: now,
            version: self.session.version(),
            packet,
            raw,
        };
        self.ui.trace.update_untracked(|t| t.push(tapped));
        self.schedule_frame();
    }

    pub(super) fn apply(&mut self, event: Event, now: u64) {
        let ui = self.ui;
        match event {
            Event::Connected {
                session_present,
                assigned_client_id,
                keep_alive,
            } => {
                self.accepted_at = Some(now);
                let (version, persistent) = self
                    .target
                    .as_ref()
                    .map_or((self.session.version(), false), |t| {
                        (t.options.version, !t.options.clean_session)
                    });
                // MQTT 3.1 cannot tell us whether a persistent session was found.
                let unknown = version == Version::V3_1 && persistent && !session_present;
                let unsubscribe = ui
                    .subs
                    .try_update(|s| {
                        if unknown {
                            s.on_connected_unknown_session()
                        } else {
                            s.on_connected(session_present)
                        }
                    })
                    .unwrap_or_default();
                self.session.unsubscribe(unsubscribe);
                self.request_subscriptions();
                self.session.subscribe(self.internal.clone());
                if let Some(id) = &assigned_client_id {
                    ui.settings.update(|s| s.client_id.clone_from(id));
                }
                let url = self.target.as_ref().map(|t| t.url.clone()).unwrap_or_default();
                let session = if unknown {
                    "persistent session; MQTT 3.1 does not say whether the broker kept it"
                } else if session_present {
                    "session resumed"
                } else {
                    "new session"
                };
                let assigned = assigned_client_id
                    .map(|id| format!(", client id “{id}” assigned by the broker"))
                    .unwrap_or_default();
                ui.set_status(
                    Phase::Connected,
                    format!("Connected to {url} (MQTT {version}, {session}, keep-alive {keep_alive} s{assigned})."),
                    None,
                );
            }
            Event::Message(p) => {
                let (color, filter) = ui
                    .subs
                    .with_untracked(|s| {
                        s.matching(&p.topic)
                            .map(|x| (Some(x.color.clone()), Some(x.filter.to_string())))
                    })
                    .unwrap_or_default();
                if p.topic.starts_with("$SYS/broker/") {
                    ui.sys
                        .update_untracked(|s| s.offer(&p.topic, &p.payload, now));
                }
                if p.topic.starts_with("tern-lesson/") {
                    ui.lesson_inbox.update(|b| {
                        b.push((p.topic.to_string(), p.payload.clone(), p.retain, now));
                        if b.len() > 200 {
                            b.remove(0);
                        }
                    });
                }
                // Messages only the page's own subscriptions asked for stay out of the
                // list and the tree.
                if filter.is_none() && self.internal.iter().any(|(f, _)| f.matches(&p.topic)) {
                    self.schedule_frame();
                    return;
                }
                ui.tree.update_untracked(|t| {
                    t.insert(&p.topic, &p.payload, p.qos_pid.qos(), p.retain, now);
                });
                ui.charts
                    .update_untracked(|c| c.offer(&p.topic, &p.payload, now));
                ui.rate.update_untracked(|r| r.hit(now));
                let m = Message {
                    id: 0,
                    at_ms: now,
                    topic: p.topic.to_string(),
                    qos: p.qos_pid.qos(),
                    retain: p.retain,
                    dup: p.dup,
                    payload: p.payload,
                    color,
                    filter,
                    properties: p.properties,
                };
                ui.log.update_untracked(|l| l.push(m));
                self.schedule_frame();
            }
            Event::Delivered { topic, qos } => {
                let how = if qos == QoS::ExactlyOnce { "PUBCOMP" } else { "PUBACK" };
                ui.publish_note.set(Some(Note {
                    ok: true,
                    text: format!("Delivered to {topic}: the broker confirmed QoS {} ({how}).", qos as u8),
                }));
            }
            Event::PublishRejected { topic, reason } => ui.publish_note.set(Some(Note {
                ok: false,
                text: format!("The broker rejected the message to {topic}: {reason}."),
            })),
            Event::SubAck { filters, results } => {
                ui.subs.update(|s| s.on_suback(&filters, &results));
                for (f, r) in filters.iter().zip(&results) {
                    if f.as_str() == sys::FILTER {
                        ui.sys.update(|s| match r {
                            Ok(_) => s.subscribed(now),
                            Err(code) => s.refused(words(*code)),
                        });
                    }
                }
            }
            Event::UnsubAck { .. } => {}
            Event::Abandoned { count } => ui.publish_note.set(Some(Note {
                ok: false,
                text: format!(
                    "{count} unacknowledged message(s) were dropped: the broker had no session for us."
                ),
            })),
        }
    }

    /// Renders arrivals in one animation frame, however many came in between, and no more
    /// often than every [`MIN_RENDER_GAP_MS`].
    pub(super) fn schedule_frame(&self) {
        if self.frame_pending.replace(true) {
            return;
        }
        let pending = self.frame_pending.clone();
        let last = self.last_render.clone();
        let ui = self.ui;
        let render = move || {
            request_animation_frame(move || {
                pending.set(false);
                last.set(now_ms());
                ui.notify_live();
            });
        };
        let wait = (self.last_render.get() + MIN_RENDER_GAP_MS).saturating_sub(now_ms());
        if wait == 0 {
            render();
        } else {
            Timeout::new(u32::try_from(wait).unwrap_or(u32::MAX), render).forget();
        }
    }

    pub(super) fn request_subscriptions(&mut self) {
        let requests = self
            .ui
            .subs
            .try_update(|s| s.take_requests())
            .unwrap_or_default();
        self.session.subscribe(requests);
    }

    /// Keeps the subscription list in the stored settings, so a reload restores it.
    pub(super) fn remember_subscriptions(&self) {
        let subs = self.ui.subs.with_untracked(|s| {
            s.items()
                .iter()
                .map(|x| SubSetting {
                    filter: x.filter.to_string(),
                    qos: x.qos,
                    color: Some(x.color.clone()),
                })
                .collect::<Vec<_>>()
        });
        self.ui.settings.update(|s| s.subs = subs);
        browser::save_settings(&self.ui.settings.with_untracked(|s| s.to_stored()));
    }

    pub(super) fn start_ticker(&mut self, rc: &Rc<RefCell<Inner>>) {
        let weak = Rc::downgrade(rc);
        self.ticker = Some(Interval::new(1_000, move || {
            if let Some(rc) = weak.upgrade() {
                on_tick(&rc);
            }
        }));
    }

    /// Ends the current socket (if any) and everything tied to it; the session keeps what a
    /// reconnect needs.
    pub(super) fn teardown(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.session.connection_lost();
        let persistent = self
            .target
            .as_ref()
            .is_some_and(|t| !t.options.clean_session);
        self.ui.subs.update(|s| s.on_connection_lost(persistent));
        if let Some(socket) = self.socket.take() {
            socket.close_quietly(1000, "");
            drop_later(socket);
        }
        for timer in [self.ticker.take(), self.countdown.take()]
            .into_iter()
            .flatten()
        {
            drop_later(timer);
        }
        if let Some(t) = self.retry.take() {
            drop_later(t);
        }
        self.opened = false;
        self.accepted_at = None;
    }

    /// We are closing because of `e`: tell an MQTT 5 broker why, then give up.
    pub(super) fn session_failed(&mut self, rc: &Rc<RefCell<Inner>>, e: &SessionError) {
        if let Some(reason) = e.reason_code() {
            self.session.disconnect_with(reason);
            self.flush(now_ms());
        }
        let version = self.session.version();
        self.give_up(
            rc,
            explain::session_error(e, version),
            explain::session_error_is_transient(e),
        );
    }

    /// This connection is over. Retry after a back-off when it may help and the user still
    /// wants to be connected; otherwise stop and say why.
    pub(super) fn give_up(&mut self, rc: &Rc<RefCell<Inner>>, text: String, transient: bool) {
        let now = now_ms();
        if self
            .accepted_at
            .is_some_and(|t| now.saturating_sub(t) >= STABLE_MS)
        {
            self.backoff.reset();
        }
        self.teardown();
        let ui = self.ui;
        if !(self.want && transient) {
            self.want = false;
            ui.set_status(Phase::Failed, text, None);
            return;
        }
        let delay = self.backoff.next_delay(browser::random());
        let due = now + delay;
        ui.set_status(Phase::Reconnecting, text, Some(seconds_left(delay)));
        let weak = Rc::downgrade(rc);
        self.retry = Some(Timeout::new(
            u32::try_from(delay).unwrap_or(u32::MAX),
            move || {
                if let Some(rc) = weak.upgrade() {
                    open_socket(&rc);
                }
            },
        ));
        self.countdown = Some(Interval::new(250, move || {
            let left = seconds_left(due.saturating_sub(now_ms()));
            ui.status.maybe_update(|s| {
                let changed = s.phase == Phase::Reconnecting && s.countdown != Some(left);
                if changed {
                    s.countdown = Some(left);
                }
                changed
            });
        }));
    }
}
