//! The view switcher: a WAI-ARIA tablist (arrow keys, Home and End move between tabs) and
//! the one panel that shows the selected view.

use leptos::prelude::*;
use web_sys::KeyboardEvent;

use super::text;
use crate::browser;
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
        browser::focus(&format!("tab-{}", v.slug()));
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
                            aria-selected=text(move || selected().to_string())
                            tabindex=text(move || if selected() { "0".into() } else { "-1".into() })
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
            aria-labelledby=text(move || format!("tab-{}", ui.tab.get().slug()))
            class="tabpanel"
        >
            {move || crate::views::render(ui.tab.get())}
        </div>
    }
}
