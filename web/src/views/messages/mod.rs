//! The Messages panel: toolbar (count, dropped, filter, Pause, Clear, limit) and the list,
//! newest first. The list re-renders once per animation frame at most (see the client).

use leptos::prelude::*;

mod props;
mod row;

use crate::ui::Ui;
use row::MessageRow;

/// Rows rendered at first and added per "Show older" click. Only the DOM is windowed; the
/// log keeps its full capacity.
const PAGE: usize = 50;

#[component]
pub fn MessagesPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let selected = move || ui.subs.with(|s| s.selected().map(|x| x.filter.clone()));
    let window = RwSignal::new(PAGE);
    let visible = move || {
        let only = selected();
        let limit = window.get();
        ui.log.with(|l| l.visible(only.as_ref(), limit))
    };
    let hidden = move || {
        let only = selected();
        ui.log
            .with(|l| l.count_matching(only.as_ref()))
            .saturating_sub(window.get())
    };
    let summary = move || {
        ui.log.with(|l| {
            let mut s = format!("{} kept (newest {})", l.len(), l.capacity());
            if l.dropped() > 0 {
                s.push_str(&format!(" · {} dropped", l.dropped()));
            }
            s
        })
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
                    {move || {
                        ui.log.with(|l| {
                            if l.is_paused() {
                                format!("Resume ({} new)", l.arrived_while_paused())
                            } else {
                                "Pause".to_owned()
                            }
                        })
                    }}
                </button>
                <button type="button" on:click=move |_| ui.log.update(|l| l.clear())>
                    "Clear"
                </button>
                <span class="keep">
                    <label class="inline" for="keep-newest">"Keep newest"</label>
                    <input
                        id="keep-newest"
                        class="narrow"
                        type="number"
                        min="1"
                        max="100000"
                        prop:value=limit
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
            <ol class="message-list" aria-label="Messages" tabindex="0">
                <For each=visible key=|m| m.id children=move |m| view! { <MessageRow msg=m /> } />
            </ol>
            <Show when=move || { hidden() != 0 }>
                <button type="button" class="more" on:click=move |_| window.update(|w| *w += PAGE)>
                    {move || format!("Show older messages ({} more)", hidden())}
                </button>
            </Show>
        </section>
    }
}
