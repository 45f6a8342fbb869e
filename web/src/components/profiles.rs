//! Saved connection profiles in the Connection panel: switch, save the current form as a
//! profile, delete, and download or load them as a JSON file ([`crate::model::profiles`]).

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{client, text};
use crate::browser;
use crate::model::profiles::{Profile, Profiles};
use crate::settings::check_topic_filter;
use crate::state::subscriptions::random_color;
use crate::ui::Ui;

#[component]
pub fn ProfilesPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let stored = browser::load_profiles()
        .and_then(|j| Profiles::from_json(&j).ok())
        .unwrap_or_default();
    let profiles = RwSignal::new(stored);
    let chosen = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let persist = move || browser::save_profiles(&profiles.with_untracked(Profiles::to_json));
    let options = text(move || {
        profiles.with(|ps| {
            ps.items
                .iter()
                .map(|p| {
                    let n = crate::model::html::esc(&p.name);
                    format!(r#"<option value="{n}">{n}</option>"#)
                })
                .collect()
        })
    });
    let switch = move |_| {
        let Some(p) = profiles.with_untracked(|ps| ps.get(&chosen.get_untracked()).cloned()) else {
            note.set("Choose a profile first.".into());
            return;
        };
        ui.settings.update(|s| p.apply(s));
        // The profile's subscriptions replace the list (unsubscribing the old ones).
        let c = client();
        for id in ui
            .subs
            .with_untracked(|s| s.items().iter().map(|x| x.id).collect::<Vec<_>>())
        {
            c.unsubscribe(id);
        }
        for s in ui.settings.with_untracked(|s| s.subs.clone()) {
            if let Ok(f) = check_topic_filter(&s.filter) {
                c.subscribe(
                    f,
                    s.qos,
                    s.color.unwrap_or_else(|| random_color(browser::random())),
                );
            }
        }
        note.set(format!(
            "Switched to “{}”. Press Connect to use it.",
            p.name
        ));
    };
    let save = move |_| {
        let p = ui
            .settings
            .with_untracked(|s| Profile::from_settings(&name.get_untracked(), s));
        let n = p.name.clone();
        match profiles.try_update(|ps| ps.save(p)).unwrap_or(Ok(())) {
            Ok(()) => {
                persist();
                chosen.set(n.clone());
                note.set(format!("Saved “{n}”."));
            }
            Err(e) => note.set(e),
        }
    };
    let delete = move |_| {
        let n = chosen.get_untracked();
        profiles.update(|ps| ps.delete(&n));
        persist();
        note.set(format!("Deleted “{n}”."));
    };
    let download = move |_| {
        browser::download(
            "tern-profiles.json",
            "application/json",
            &profiles.with_untracked(Profiles::to_json),
        )
    };
    let load = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        leptos::task::spawn_local(async move {
            let r = browser::read_file(&input)
                .await
                .and_then(|t| Profiles::from_json(&t));
            match r {
                Ok(loaded) => {
                    let n = loaded.items.len();
                    let mut err = None;
                    profiles.update(|ps| {
                        for p in loaded.items {
                            if let Err(e) = ps.save(p) {
                                err = Some(e);
                            }
                        }
                    });
                    persist();
                    note.set(err.unwrap_or_else(|| format!("Loaded {n} profiles.")));
                }
                Err(e) => note.set(e),
            }
        });
    };
    view! {
        <details class="wide profiles">
            <summary>"Profiles"</summary>
            <div class="grid">
                <div class="field">
                    <label for="profile-pick">"Profile"</label>
                    <select id="profile-pick" inner_html=options prop:value=text(move || chosen.get()) on:change=move |ev| chosen.set(event_target_value(&ev))></select>
                </div>
                <div class="actions">
                    <button type="button" on:click=switch>"Switch to profile"</button>
                    <button type="button" on:click=delete>"Delete profile"</button>
                </div>
                <div class="field">
                    <label for="profile-name">"Profile name"</label>
                    <input id="profile-name" type="text" prop:value=text(move || name.get()) on:input=move |ev| name.set(event_target_value(&ev)) />
                </div>
                <div class="actions">
                    <button type="button" on:click=save>"Save as profile"</button>
                </div>
                <div class="actions wide">
                    <button type="button" on:click=download>"Download profiles"</button>
                    <label for="profile-file">"Load profiles from a file"</label>
                    <input id="profile-file" type="file" accept=".json,application/json" on:change=load />
                </div>
            </div>
            <p class="note" role="status">{text(move || note.get())}</p>
        </details>
    }
}
