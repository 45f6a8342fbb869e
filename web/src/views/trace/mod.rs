//! The Trace view: every packet the page sent and received as a two-lane sequence (page on
//! the left, broker on the right, one arrow per packet), newest at the bottom. Only a window
//! of the trace is rendered; the log itself is bounded ([`crate::model::trace`]).

use std::collections::HashSet;

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::export::{ExportControls, What};
use crate::components::{flag, text};
use crate::model::trace::row::row_html;
use crate::ui::Ui;

/// Rows rendered at once; Older / Newer move the window.
const PAGE: usize = 60;

#[component]
pub fn TraceView() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let hide_pings = RwSignal::new(false);
    let open = RwSignal::new(HashSet::<u64>::new());
    let tz = ui.tz_offset;
    // `None` follows the newest packets; `Some(seq)` holds a window ending at `seq`.
    let until = RwSignal::new(None::<u64>);
    // One handler for every row's "Fields" button (the rows are one HTML string, rebuilt
    // as packets arrive): on mousedown, so a rebuild between press and release cannot
    // swallow the click, and on Enter / Space for the keyboard.
    let toggle = move |target: Option<web_sys::EventTarget>| {
        let seq = target
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("button[data-seq]").ok().flatten())
            .and_then(|b| b.get_attribute("data-seq"))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(seq) = seq {
            open.update(|o| {
                if !o.remove(&seq) {
                    o.insert(seq);
                }
            });
            true
        } else {
            false
        }
    };
    let on_press = move |ev: web_sys::MouseEvent| {
        if ev.button() == 0 {
            toggle(ev.target());
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if matches!(ev.key().as_str(), "Enter" | " ") && toggle(ev.target()) {
            ev.prevent_default();
        }
    };
    let page = Memo::new(move |_| {
        let hide = hide_pings.get();
        let end = until.get();
        ui.trace.with(|t| t.page(hide, end, PAGE))
    });
    let rows = text(move || {
        open.with(|o| {
            page.with(|p| {
                p.rows
                    .iter()
                    .map(|e| {
                        let is_open = o.contains(&e.seq);
                        format!(
                            r#"<div role="row" class="trace-row {}{}">{}</div>"#,
                            e.tapped.dir.word(),
                            if is_open { " open" } else { "" },
                            row_html(e, tz, is_open)
                        )
                    })
                    .collect::<String>()
            })
        })
    });
    let summary = text(move || {
        ui.trace.with(|t| {
            let mut s = format!("{} packets", t.len());
            if t.dropped() > 0 {
                s.push_str(&format!(" · {} older dropped", t.dropped()));
            }
            s
        })
    });
    let scroller = NodeRef::<html::Div>::new();
    // Following the newest: keep the end of the sequence in view.
    Effect::new(move |_| {
        page.track();
        if until.get_untracked().is_none()
            && let Some(el) = scroller.get()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    let older = move |_| {
        let p = page.get_untracked();
        if let Some(first) = p.rows.first()
            && p.older > 0
        {
            until.set(Some(first.seq.saturating_sub(1)));
        }
    };
    let newer = move |_| {
        let p = page.get_untracked();
        if let Some(last) = p.rows.last() {
            let next = ui.trace.with_untracked(|t| {
                t.iter(hide_pings.get_untracked())
                    .map(|e| e.seq)
                    .filter(|s| *s > last.seq)
                    .nth(PAGE - 1)
            });
            until.set(next);
        }
    };

    view! {
        <section class="panel trace-panel" aria-labelledby="trace-h">
            <div class="toolbar">
                <h2 id="trace-h">"Protocol trace"</h2>
                <span class="summary">{summary}</span>
                <span class="spacer"></span>
                <div class="check">
                    <input
                        id="trace-hide-pings"
                        type="checkbox"
                        prop:checked=flag(move || hide_pings.get())
                        on:change=move |ev| hide_pings.set(event_target_checked(&ev))
                    />
                    <label for="trace-hide-pings">"Hide pings"</label>
                </div>
                <button type="button" on:click=move |_| ui.trace.update(|t| t.clear())>
                    "Clear trace"
                </button>
                <ExportControls what=What::Trace />
            </div>
            <div class="trace-scroll" node_ref=scroller>
                <div role="table" aria-label="Protocol trace" class="trace" on:mousedown=on_press on:keydown=on_key>
                    <div role="row" class="trace-row head">
                        <span role="columnheader">"#"</span>
                        <span role="columnheader">"Time"</span>
                        <span role="columnheader" class="lanes">
                            <span>"Page"</span>
                            <span>"Broker"</span>
                        </span>
                        <span role="columnheader">"Packet id"</span>
                        <span role="columnheader">"Flags"</span>
                        <span role="columnheader">"Reason"</span>
                        <span role="columnheader">"Size"</span>
                        <span role="columnheader">"About"</span>
                    </div>
                    <div class="trace-rows" inner_html=rows></div>
                </div>
                <Show when=move || ui.trace.with(|t| t.is_empty())>
                    <p class="empty">"No packets yet. Connect, and every packet the page sends or receives appears here."</p>
                </Show>
            </div>
            <div class="pager">
                <button type="button" prop:disabled=flag(move || page.with(|p| p.older == 0)) on:click=older>
                    {text(move || format!("Older ({})", page.with(|p| p.older)))}
                </button>
                <button type="button" prop:disabled=flag(move || page.with(|p| p.newer == 0)) on:click=newer>
                    {text(move || format!("Newer ({})", page.with(|p| p.newer)))}
                </button>
                <button type="button" prop:disabled=flag(move || until.get().is_none()) on:click=move |_| until.set(None)>
                    "Follow newest"
                </button>
            </div>
        </section>
    }
}
