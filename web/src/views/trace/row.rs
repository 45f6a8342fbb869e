//! One packet of the trace: sequence number, time and gap, an arrow between the page and
//! broker lanes labelled with the packet type, id, flags, reason, size and a short detail.
//! "Fields" expands every decoded field and property and the raw bytes in hex.

use std::sync::Arc;

use leptos::prelude::*;

use crate::model::trace::TraceEntry;
use crate::model::trace::fields::{fields, hex};
use crate::model::trace::summary::summarize;
use crate::mqtt::tap::Direction;
use crate::state::clock;
use crate::state::payload::human_size;
use crate::ui::Ui;

#[component]
pub fn TraceRow(entry: Arc<TraceEntry>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let s = summarize(&entry.tapped);
    let open = RwSignal::new(false);
    let sent = entry.tapped.dir == Direction::Sent;
    let arrow_label = if sent {
        "page to broker"
    } else {
        "broker to page"
    };
    let detail = {
        let entry = entry.clone();
        move || {
            open.get().then(|| {
                let fs = fields(&entry.tapped);
                view! {
                    <div class="trace-fields">
                        <dl>
                            {fs.into_iter().map(|f| view! { <div><dt>{f.name}</dt><dd>{f.value}</dd></div> }).collect_view()}
                        </dl>
                        <pre class="payload hex" aria-label="Raw bytes">{hex(&entry.tapped)}</pre>
                    </div>
                }
            })
        }
    };
    view! {
        <div role="row" class="trace-row" class:sent=sent class:received=!sent class:open=open>
            <span role="cell" class="seq">{entry.seq}</span>
            <span role="cell" class="when">
                <time>{clock(entry.tapped.at_ms, ui.tz_offset)}</time>
                <span class="gap">{format!("+{} ms", entry.delta_ms)}</span>
            </span>
            <span role="cell" class="lanes arrow" title=arrow_label>
                <span class="sr-only">{format!("{arrow_label}: ")}</span>
                <span class="ptype">{s.name}</span>
            </span>
            <span role="cell" class="pid">{s.pid.map(|p| p.to_string())}</span>
            <span role="cell" class="flags">{s.flags}</span>
            <span role="cell" class="reason">{s.reason}</span>
            <span role="cell" class="size">{human_size(entry.tapped.raw.len())}</span>
            <span role="cell" class="about">
                <span class="detail">{s.detail}</span>
                <button
                    type="button"
                    class="small"
                    aria-expanded=move || if open.get() { "true" } else { "false" }
                    aria-label=format!("Fields of packet {}", entry.seq)
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    "Fields"
                </button>
                {detail}
            </span>
        </div>
    }
}
