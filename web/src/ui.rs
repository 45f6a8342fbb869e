//! The reactive handles the components read and the client writes. All are `Copy` signals,
//! provided once as context.

use leptos::prelude::*;

use crate::settings::{FieldError, Settings};
use crate::state::messages::MessageLog;
use crate::state::subscriptions::Subscriptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Disconnected,
    Connecting,
    Connected,
    Reconnecting,
    Failed,
}

impl Phase {
    /// CSS class and short word shown before the status text.
    pub fn word(self) -> &'static str {
        match self {
            Phase::Disconnected => "disconnected",
            Phase::Connecting => "connecting",
            Phase::Connected => "connected",
            Phase::Reconnecting => "reconnecting",
            Phase::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub phase: Phase,
    /// What happened, in words.
    pub text: String,
    /// Seconds until the next reconnect attempt.
    pub countdown: Option<u64>,
}

/// The outcome of the last publish, shown under the Publish button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub ok: bool,
    pub text: String,
}

#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub settings: RwSignal<Settings>,
    pub field_errors: RwSignal<Vec<FieldError>>,
    pub status: RwSignal<Status>,
    pub subs: RwSignal<Subscriptions>,
    /// Written untracked as messages arrive; notified once per animation frame.
    pub log: RwSignal<MessageLog>,
    pub publish_note: RwSignal<Option<Note>>,
    /// Local time zone, minutes to add to get UTC (`Date.getTimezoneOffset()`).
    pub tz_offset: i64,
}

impl Ui {
    pub fn new(settings: Settings, subs: Subscriptions, log: MessageLog, tz_offset: i64) -> Ui {
        Ui {
            settings: RwSignal::new(settings),
            field_errors: RwSignal::new(Vec::new()),
            status: RwSignal::new(Status {
                phase: Phase::Disconnected,
                text: "Not connected. Check the settings and press Connect.".into(),
                countdown: None,
            }),
            subs: RwSignal::new(subs),
            log: RwSignal::new(log),
            publish_note: RwSignal::new(None),
            tz_offset,
        }
    }

    pub fn set_status(&self, phase: Phase, text: impl Into<String>, countdown: Option<u64>) {
        self.status.set(Status {
            phase,
            text: text.into(),
            countdown,
        });
    }

    /// The validation message for a form field, if any.
    pub fn field_error(&self, field: &'static str) -> Option<String> {
        self.field_errors.with(|errs| {
            errs.iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone())
        })
    }
}
