//! The Messages panel: toolbar (count, dropped, filter, Pause, Clear, limit) and the list,
//! newest first. The list re-renders once per animation frame at most (see the client).

mod row;

use std::collections::HashSet;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::export::{ExportControls, ReplayControls, What};
use crate::components::{flag, text};
use crate::ui::Ui;
use row::row_html;

/// Rows on one page. Older / Newer move between pages, so the DOM never holds more than
/// this many rows, however far back the list is read.
const PAGE: usize = 50;

#[component]
pub fn MessagesPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let selected = move || ui.subs.with(|s| s.selected().map(|x| x.filter.clone()));
    // `None` follows the newest messages; `Some(id)` holds a page starting at that message.
    let from = RwSignal::new(None::<u64>);
    let page = Memo::new(move |_| {
        let only = selected();
        let start = from.get();
        ui.log.with(|l| l.page(only.as_ref(), start, PAGE))
    });
    let summary = text(move || {
        ui.log.with(|l| {
            let mut s = format!("{} kept (newest {})", l.len(), l.capacity());
            if l.dropped() > 0 {
                s.push_str(&format!(" · {} dropped", l.dropped()));
            }
            s
        })
    });
    let tz = ui.tz_offset;
    let expanded = RwSignal::new(HashSet::<u64>::new());
    // "Show all" / "Collapse" of every row (the rows are HTML strings).
    let on_click = move |ev: web_sys::MouseEvent| {
        let id = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.get_attribute("data-msg"))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(id) = id {
            expanded.update(|e| {
                if !e.remove(&id) {
                    e.insert(id);
                }
            });
        }
    };
    let older = move |_| {
        if let Some(last) = page.with_untracked(|p| p.rows.last().map(|m| m.id)) {
            from.set(Some(last.saturating_sub(1)));
        }
    };
    let newer = move |_| {
        let first = page.with_untracked(|p| p.rows.first().map(|m| m.id));
        let only = selected();
        let next = first.and_then(|id| {
            ui.log.with_untracked(|l| {
                let p = l.page(only.as_ref(), None, usize::MAX);
                let i = p.rows.iter().position(|m| m.id == id)?;
                (i >= PAGE).then(|| p.rows[i - PAGE].id)
            })
        });
        from.set(next);
    };
    let limit = RwSignal::new(ui.log.with_untracked(|l| l.capacity().to_string()));

    view! {
        <section class="panel messages" aria-labelledby="messages-h">
            <div class="toolbar">
                <h2 id="messages-h">"Messages"</h2>
                <span class="summary">{summary}</span>
                {move || {
                    selected()
                        .map(|f| {
                            view! {
                                <span class="only">
                                    "Only " <code>{f.to_string()}</code>
                                    <button type="button" class="small" on:click=move |_| ui.subs.update(|s| s.clear_selection())>
                                        "Show all"
                                    </button>
                                </span>
                            }
                        })
                }}
                <span class="spacer"></span>
                <button
                    type="button"
                    on:click=move |_| {
                        ui.log.update(|l| if l.is_paused() { l.resume() } else { l.pause() })
                    }
                >
                    {text(move || {
                        ui.log.with(|l| {
                            if l.is_paused() {
                                format!("Resume ({} new)", l.arrived_while_paused())
                            } else {
                                "Pause".to_owned()
                            }
                        })
                    })}
                </button>
                <button type="button" on:click=move |_| ui.log.update(|l| l.clear())>
                    "Clear"
                </button>
                <ExportControls what=What::Messages />
                <span class="keep">
                    <label class="inline" for="keep-newest">"Keep newest"</label>
                    <input
                        id="keep-newest"
                        class="narrow"
                        type="number"
                        min="1"
                        max="100000"
                        prop:value=text(move || limit.get())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if let Ok(n) = v.trim().parse::<usize>() {
                                ui.log.update(|l| l.set_capacity(n));
                                let kept = ui.log.with_untracked(|l| l.capacity()).to_string();
                                ui.settings.update(|s| s.max_messages.clone_from(&kept));
                                limit.set(kept);
                            }
                        }
                    />
                </span>
            </div>
            <Show when=move || ui.log.with(|l| l.is_empty())>
                <p class="empty">"No messages yet. Subscribe to a topic filter to see messages here."</p>
            </Show>
            <ReplayControls />
            <ol class="message-list" aria-label="Messages" tabindex="0" on:click=on_click>
                <For
                    each=move || page.get().rows
                    key=|m| m.id
                    children=move |m| {
                        let id = m.id;
                        let color = m.color.clone().unwrap_or_else(|| "transparent".into());
                        view! {
                            <li
                                class="message"
                                style:border-left-color=color
                                inner_html=text(move || row_html(&m, tz, expanded.with(|e| e.contains(&id))))
                            ></li>
                        }
                    }
                />
            </ol>
            <div class="pager">
                <button type="button" prop:disabled=flag(move || page.with(|p| p.newer == 0)) on:click=newer>
                    {text(move || format!("Newer messages ({})", page.with(|p| p.newer)))}
                </button>
                <button type="button" prop:disabled=flag(move || page.with(|p| p.older == 0)) on:click=older>
                    {text(move || format!("Older messages ({})", page.with(|p| p.older)))}
                </button>
                <button type="button" prop:disabled=flag(move || from.get().is_none()) on:click=move |_| from.set(None)>
                    "Newest"
                </button>
            </div>
        </section>
    }
}
