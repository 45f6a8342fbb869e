//! The virtualised topic tree: a WAI-ARIA `tree` named "Topics" whose rows are rebuilt as
//! one HTML string for the rows in sight only, so 10,000 topics cost the same as 30. Focus
//! stays on the tree; `aria-activedescendant` points at the keyboard position.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{KeyboardEvent, MouseEvent};

use crate::components::text;
use crate::model::tree::render::row_html;
use crate::model::tree::rows::Row;
use crate::model::tree::{NodeId, TopicTree};
use crate::ui::Ui;

/// Row height in CSS pixels (`.tree-row` in styles/main.css).
pub const ROW_H: f64 = 30.0;
/// Rows rendered above and below the visible ones.
const OVERSCAN: usize = 8;

#[component]
pub fn TreeView(search: RwSignal<String>) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let rows = Memo::new(move |_| {
        let q = search.get();
        ui.tree.with(|t| t.rows(&q))
    });
    let scroll_top = RwSignal::new(0.0f64);
    let height = RwSignal::new(600.0f64);
    let active = RwSignal::new(None::<NodeId>);
    let el = NodeRef::<html::Div>::new();

    let window = move || {
        let n = rows.with(Vec::len);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let first = ((scroll_top.get() / ROW_H) as usize).saturating_sub(OVERSCAN);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let count = (height.get() / ROW_H) as usize + 2 * OVERSCAN;
        (first.min(n), (first + count).min(n))
    };
    let html = text(move || {
        let (a, b) = window();
        let now = ui.now.get();
        let act = active.get();
        ui.tree.with(|t| {
            rows.with(|r| {
                r[a..b]
                    .iter()
                    .map(|row| row_html(t, row, now, act == Some(row.id)))
                    .collect::<String>()
            })
        })
    });
    let total = text(move || format!("{}px", rows.with(Vec::len) * ROW_H as usize));
    let offset = text(move || format!("translateY({}px)", window().0 * ROW_H as usize));

    // Keeps the keyboard position in sight.
    let reveal = move |i: usize| {
        if let Some(e) = el.get_untracked() {
            #[allow(clippy::cast_precision_loss)]
            let top = i as f64 * ROW_H;
            let h = f64::from(e.client_height());
            let cur = f64::from(e.scroll_top());
            if top < cur {
                e.set_scroll_top(top as i32);
            } else if top + ROW_H > cur + h {
                e.set_scroll_top((top + ROW_H - h) as i32);
            }
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        let list = rows.get_untracked();
        if list.is_empty() {
            return;
        }
        let i = active
            .get_untracked()
            .and_then(|id| list.iter().position(|r| r.id == id))
            .unwrap_or(0);
        let r: Row = list[i];
        let go = |j: usize| {
            active.set(Some(list[j].id));
            reveal(j);
        };
        match ev.key().as_str() {
            "ArrowDown" => go((i + 1).min(list.len() - 1)),
            "ArrowUp" => go(i.saturating_sub(1)),
            "Home" => go(0),
            "End" => go(list.len() - 1),
            "PageDown" => go((i + 10).min(list.len() - 1)),
            "PageUp" => go(i.saturating_sub(10)),
            "ArrowRight" if r.has_children && !r.expanded => {
                ui.tree.update(|t| t.set_expanded(r.id, true));
            }
            "ArrowRight" if r.has_children => go(i + 1),
            "ArrowLeft" if r.expanded => ui.tree.update(|t| t.set_expanded(r.id, false)),
            "ArrowLeft" => {
                let parent = ui
                    .tree
                    .with_untracked(|t| t.node(r.id).and_then(|n| n.parent));
                if let Some(j) = parent.and_then(|p| list.iter().position(|x| x.id == p)) {
                    go(j);
                }
            }
            "Enter" | " " => select(ui.tree, r.id),
            _ => return,
        }
        ev.prevent_default();
    };
    // On mousedown, not click: rows are rebuilt as new values arrive, and a click whose
    // press and release land on different copies of a row goes to the tree instead.
    let on_press = move |ev: MouseEvent| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let Some(id) = target
            .closest("[data-id]")
            .ok()
            .flatten()
            .and_then(|e| e.get_attribute("data-id"))
            .and_then(|s| s.parse::<NodeId>().ok())
        else {
            return;
        };
        active.set(Some(id));
        if target.class_list().contains("twisty") {
            ui.tree.update(|t| {
                let open = t.node(id).is_some_and(|n| n.expanded);
                t.set_expanded(id, !open);
            });
        } else {
            select(ui.tree, id);
        }
    };
    let measure = move || {
        if let Some(e) = el.get_untracked() {
            scroll_top.set(f64::from(e.scroll_top()));
            height.set(f64::from(e.client_height()).max(ROW_H));
        }
    };
    Effect::new(move |_| {
        if el.get().is_some() {
            measure();
        }
    });

    view! {
        <div
            role="tree"
            aria-label="Topics"
            tabindex="0"
            class="tree-scroll"
            node_ref=el
            aria-activedescendant=text(move || active.get().map(|id| format!("tn-{id}")).unwrap_or_default())
            on:scroll=move |_| measure()
            on:keydown=on_key
            on:mousedown=on_press
            on:focus=move |_| {
                if active.get_untracked().is_none() {
                    active.set(rows.with_untracked(|r| r.first().map(|x| x.id)));
                }
            }
        >
            <div class="tree-spacer" style:height=total>
                <div class="tree-window" style:transform=offset inner_html=html></div>
            </div>
        </div>
    }
}

/// Selects a topic for the details; the first time, its numbers go on the chart.
pub fn select(tree: RwSignal<TopicTree>, id: NodeId) {
    tree.update(|t| {
        t.select(Some(id));
        let opened = t.node(id).is_some_and(|n| n.expanded);
        if !opened {
            t.set_expanded(id, true);
        }
    });
}
