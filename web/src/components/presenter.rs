//! Presenter mode: the header's "Presenter mode" button (Escape leaves it) and the layout
//! that shows the chosen views side by side in large, high-contrast type.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

use super::text;
use crate::ui::{Ui, View};

#[component]
pub fn PresenterButton() -> impl IntoView {
    let ui = expect_context::<Ui>();
    // The page's look follows the mode (a class on <body>, see styles/main.css).
    Effect::new(move |_| {
        let on = ui.presenter.get();
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.class_list().toggle_with_force("presenter", on);
        }
    });
    let esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && ui.presenter.get_untracked() {
            ui.presenter.set(false);
        }
    });
    on_cleanup(move || esc.remove());
    view! {
        <button
            type="button"
            class="presenter-toggle"
            aria-pressed=text(move || ui.presenter.get().to_string())
            on:click=move |_| ui.presenter.update(|p| *p = !*p)
        >
            "Presenter mode"
        </button>
    }
}

/// The chosen views, side by side.
#[component]
pub fn PresenterViews() -> impl IntoView {
    let ui = expect_context::<Ui>();
    view! {
        <div class="presenter-grid">
            {move || {
                ui.presenter_views
                    .get()
                    .into_iter()
                    .map(|v| view! { <div class="presenter-view">{crate::views::render(v)}</div> })
                    .collect_view()
            }}
        </div>
    }
}

/// Checkboxes choosing the views of presenter mode.
#[component]
pub fn PresenterChoice() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let on_change = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(v) = View::from_slug(&input.value()) else {
            return;
        };
        let on = input.checked();
        ui.presenter_views.update(|vs| {
            vs.retain(|x| *x != v);
            if on {
                vs.push(v);
                vs.sort_by_key(|x| View::ALL.iter().position(|y| y == x));
            }
        });
    };
    let boxes = View::ALL
        .iter()
        .map(|v| {
            let checked = ui.presenter_views.with_untracked(|vs| vs.contains(v));
            format!(
                r#"<span class="check"><input type="checkbox" id="pv-{s}" value="{s}"{c}><label for="pv-{s}">{n} view</label></span>"#,
                s = v.slug(),
                n = v.name(),
                c = if checked { " checked" } else { "" }
            )
        })
        .collect::<String>();
    view! {
        <fieldset class="presenter-choice" on:change=on_change>
            <legend>"Views shown in presenter mode"</legend>
            <div inner_html=boxes></div>
        </fieldset>
    }
}
