//! The reactive handles the components read and the client writes. All are `Copy` signals,
//! provided once as context.

use leptos::prelude::*;

use crate::model::chart::Charts;
use crate::model::rate::RateMeter;
use crate::model::sys::SysStats;
use crate::model::trace::TraceLog;
use crate::model::tree::TopicTree;
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

/// The views of the main area, one tab each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Messages,
    Topics,
    Trace,
    Broker,
    Lesson,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Messages,
        View::Topics,
        View::Trace,
        View::Broker,
        View::Lesson,
    ];

    /// The tab's name (the accessibility contract: tests find the tabs by it).
    pub fn name(self) -> &'static str {
        match self {
            View::Messages => "Messages",
            View::Topics => "Topics",
            View::Trace => "Trace",
            View::Broker => "Broker",
            View::Lesson => "Lesson",
        }
    }

    /// Element id stem: `tab-topics`, `panel-topics`.
    pub fn slug(self) -> &'static str {
        match self {
            View::Messages => "messages",
            View::Topics => "topics",
            View::Trace => "trace",
            View::Broker => "broker",
            View::Lesson => "lesson",
        }
    }

    pub fn from_slug(s: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.slug() == s)
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
    /// Every packet sent and received; written untracked, notified with the log.
    pub trace: RwSignal<TraceLog>,
    /// Every topic seen, as a tree; written untracked, notified with the log.
    pub tree: RwSignal<TopicTree>,
    /// The chosen numeric series.
    pub charts: RwSignal<Charts>,
    /// `$SYS/broker/#` as received (the Broker view).
    pub sys: RwSignal<SysStats>,
    /// Messages received per second (the header meter).
    pub rate: RwSignal<RateMeter>,
    /// The time, updated every second: ages and rates are read against it.
    pub now: RwSignal<u64>,
    /// Messages on the lesson's topics (topic, payload, retain, time), newest last, bounded.
    pub lesson_inbox: RwSignal<Vec<(String, bytes::Bytes, bool, u64)>>,
    /// Presenter mode: large type, high contrast, the chosen views side by side.
    pub presenter: RwSignal<bool>,
    /// The views presenter mode shows.
    pub presenter_views: RwSignal<Vec<View>>,
    /// The Publish form's topic (other views fill it in: "Publish to this topic").
    pub publish_topic: RwSignal<String>,
    /// The view shown in the main area.
    pub tab: RwSignal<View>,
    /// Local time zone, minutes to add to get UTC (`Date.getTimezoneOffset()`).
    pub tz_offset: i64,
}

impl Ui {
    pub fn new(settings: Settings, subs: Subscriptions, log: MessageLog, tz_offset: i64) -> Ui {
        Ui {
            publish_topic: RwSignal::new(settings.publish_topic.clone()),
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
            trace: RwSignal::new(TraceLog::default()),
            tree: RwSignal::new(TopicTree::default()),
            charts: RwSignal::new(Charts::default()),
            rate: RwSignal::new(RateMeter::default()),
            sys: RwSignal::new(SysStats::default()),
            now: RwSignal::new(0),
            tab: RwSignal::new(View::Messages),
            presenter: RwSignal::new(false),
            lesson_inbox: RwSignal::new(Vec::new()),
            presenter_views: RwSignal::new(vec![View::Messages, View::Trace]),
            tz_offset,
        }
    }

    /// Tells the views that the live models (written untracked as packets arrive) changed;
    /// called once per animation frame at most.
    pub fn notify_live(&self) {
        self.log.notify();
        self.trace.notify();
        self.tree.notify();
        self.charts.notify();
        self.sys.notify();
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
