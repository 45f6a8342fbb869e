//! The Topics view: the live topic tree (search, expand and collapse all) beside the
//! selected topic's details and the live chart.

mod chart;
mod details;
mod tree;

use leptos::prelude::*;

use crate::components::text;
use crate::model::tree::MAX_NODES;
use crate::ui::Ui;
use chart::ChartPanel;
use details::TopicDetails;
use tree::TreeView;

#[component]
pub fn TopicsView() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let search = RwSignal::new(String::new());
    let summary = text(move || {
        ui.tree.with(|t| {
            let mut s = format!("{} topics · {} messages", t.topics(), t.messages());
            if t.over_cap() > 0 {
                s.push_str(&format!(
                    " · {} messages to new topics not shown (the tree holds {MAX_NODES} levels)",
                    t.over_cap()
                ));
            }
            s
        })
    });
    view! {
        <section class="panel topics-panel" aria-labelledby="topics-h">
            <div class="toolbar">
                <h2 id="topics-h">"Topic tree"</h2>
                <span class="summary">{summary}</span>
                <span class="spacer"></span>
                <input
                    type="search"
                    class="search"
                    aria-label="Search topics"
                    placeholder="Search topics"
                    on:input=move |ev| search.set(event_target_value(&ev))
                />
                <button type="button" on:click=move |_| ui.tree.update(|t| t.expand_all(true))>"Expand all"</button>
                <button type="button" on:click=move |_| ui.tree.update(|t| t.expand_all(false))>"Collapse all"</button>
                <button type="button" on:click=move |_| ui.tree.update(|t| t.clear())>"Clear tree"</button>
            </div>
            <div class="topics-body">
                <TreeView search=search />
                <div class="topic-side">
                    <ChartPanel />
                    <TopicDetails />
                </div>
            </div>
        </section>
    }
}
