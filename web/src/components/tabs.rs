//! The view switcher: a WAI-ARIA tablist (arrow keys, Home and End move between tabs) and
//! the one panel that shows the selected view.

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
                            aria-controls="view-panel"
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

/// The panel of the selected tab. Only its view is mounted, so a hidden view costs nothing
/// while messages flood in.
#[component]
pub fn TabPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <div
            role="tabpanel"
            id="view-panel"
            aria-labelledby=move || format!("tab-{}", ui.tab.get().slug())
            class="tabpanel"
        >
            {move || crate::views::render(ui.tab.get())}
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
