//! The tabs of the main area, one folder per view, each a thin component over one model.

pub mod broker;
pub mod lesson;
pub mod messages;
pub mod topics;
pub mod trace;

use leptos::prelude::*;

use crate::ui::View;
use broker::BrokerView;
use lesson::LessonView;
use messages::MessagesPanel;
use topics::TopicsView;
use trace::TraceView;

/// The component of a view.
pub fn render(v: View) -> AnyView {
    match v {
        View::Messages => view! { <MessagesPanel /> }.into_any(),
        View::Trace => view! { <TraceView /> }.into_any(),
        View::Topics => view! { <TopicsView /> }.into_any(),
        View::Broker => view! { <BrokerView /> }.into_any(),
        View::Lesson => view! { <LessonView /> }.into_any(),
    }
}
