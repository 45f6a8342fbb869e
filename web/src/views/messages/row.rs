//! One received message: colour of its subscription, time with milliseconds, topic, QoS,
//! retained/DUP flags, size, format, the payload (collapsed when long, never cut) and any
//! MQTT 5 properties.

use std::sync::Arc;

use leptos::prelude::*;

use super::props::MessageProps;
use crate::components::text;
use crate::state::clock;
use crate::state::messages::Message;
use crate::state::payload::{self, Format};
use crate::state::properties;
use crate::ui::Ui;

/// Collapsed view: at most this many lines …
const PREVIEW_LINES: usize = 12;
/// … and characters.
const PREVIEW_CHARS: usize = 1_500;

#[component]
pub fn MessageRow(msg: Arc<Message>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let rendered = payload::render(&msg.payload);
    let preview =
        payload::collapsed(&rendered.body, PREVIEW_LINES, PREVIEW_CHARS).map(str::to_owned);
    let long = preview.is_some();
    let expanded = RwSignal::new(false);
    let size = payload::human_size(msg.payload.len());
    let format = rendered.format;
    let body = Arc::new(rendered.body);
    let shown = {
        let body = body.clone();
        text(move || {
            if expanded.get() {
                body.to_string()
            } else {
                preview.clone().unwrap_or_else(|| body.to_string())
            }
        })
    };
    let empty = msg.payload.is_empty();
    let color = msg.color.clone().unwrap_or_else(|| "transparent".into());
    let lines = body.lines().count();
    let props = properties::describe(&msg.properties);

    view! {
        <li class="message" style:border-left-color=color>
            <div class="meta">
                <time>{clock(msg.at_ms, ui.tz_offset)}</time>
                <span class="topic">{msg.topic.clone()}</span>
                {msg.filter.clone().map(|f| view! { <span class="via">"via " <code>{f}</code></span> })}
                <span class="badge">{format!("QoS {}", msg.qos as u8)}</span>
                {msg.retain.then(|| view! { <span class="badge flag">"retained"</span> })}
                {msg.dup.then(|| view! { <span class="badge flag">"DUP"</span> })}
                <span class="size">{size}</span>
                <span class="format" class:binary=format == Format::Binary>{format.label()}</span>
            </div>
            {if empty {
                view! { <p class="payload empty-payload">"(empty payload)"</p> }.into_any()
            } else {
                view! { <pre class="payload" class:hex=format == Format::Binary>{shown}</pre> }.into_any()
            }}
            {(!props.is_empty()).then(|| view! { <MessageProps lines=props /> })}
            {long.then(|| {
                view! {
                    <button
                        type="button"
                        class="small"
                        aria-expanded=text(move || expanded.get().to_string())
                        on:click=move |_| expanded.update(|e| *e = !*e)
                    >
                        {text(move || if expanded.get() { "Collapse".to_owned() } else { format!("Show all ({lines} lines)") })}
                    </button>
                }
            })}
        </li>
    }
}
