//! The view switcher: a WAI-ARIA tablist (arrow keys, Home and End move between tabs) and the
//! panel wrapper. Only the active panel's content is mounted, so a hidden view costs nothing
//! while messages flood in.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use crate::ui::{Ui, View};

#[component]
pub fn Tabs() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let on_key = move |ev: KeyboardEvent| {
        let current = ui.tab.get_untracked();
        let i = View::ALL.iter().position(|v| *v == current).unwrap_or(0);
        let n = View::ALL.len();
        let next = match ev.key().as_str() {
            "ArrowRight" => (i + 1) % n,
            "ArrowLeft" => (i + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        ev.prevent_default();
        let v = View::ALL[next];
        ui.tab.set(v);
        focus(&format!("tab-{}", v.slug()));
    };
    view! {
        <div role="tablist" aria-label="Views" class="tabs" on:keydown=on_key>
            {View::ALL
                .into_iter()
                .map(|v| {
                    let selected = move || ui.tab.get() == v;
                    view! {
                        <button
                            type="button"
                            role="tab"
                            id=format!("tab-{}", v.slug())
                            aria-controls=format!("panel-{}", v.slug())
                            aria-selected=move || if selected() { "true" } else { "false" }
                            tabindex=move || if selected() { "0" } else { "-1" }
                            on:click=move |_| ui.tab.set(v)
                        >
                            {v.name()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// A tab's panel; its children are built only while the tab is selected (or when `always`,
/// as in presenter mode, which shows several views at once).
#[component]
pub fn TabPanel(
    view: View,
    #[prop(into)] shown: Signal<bool>,
    children: ChildrenFn,
) -> impl IntoView {
    view! {
        <div
            role="tabpanel"
            id=format!("panel-{}", view.slug())
            aria-labelledby=format!("tab-{}", view.slug())
            class=format!("tabpanel {}", view.slug())
            hidden=move || !shown.get()
        >
            {move || shown.get().then(|| children())}
        </div>
    }
}

fn focus(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}
