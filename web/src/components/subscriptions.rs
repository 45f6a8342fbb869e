//! The Subscriptions panel: add (filter, QoS, colour), and a row per subscription with its
//! colour bar, the broker's answer, a filter toggle and Unsubscribe.

use leptos::prelude::*;
use tern_codec::QoS;

use super::fields::qos_options;
use super::{client, invalid, text};
use crate::browser;
use crate::settings::{check_topic_filter, parse_qos};
use crate::state::subscriptions::{SubState, Subscription, random_color};
use crate::ui::Ui;

#[component]
pub fn SubscriptionsPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let filter = RwSignal::new(String::new());
    let qos = RwSignal::new(QoS::AtMostOnce);
    let color = RwSignal::new(random_color(browser::random()));
    let tried = RwSignal::new(false);
    let error = move || {
        let f = filter.get();
        if f.is_empty() && !tried.get() {
            return None;
        }
        check_topic_filter(&f).err()
    };

    let subscribe = move || {
        tried.set(true);
        let Ok(f) = check_topic_filter(&filter.get_untracked()) else {
            return;
        };
        client().subscribe(f, qos.get_untracked(), color.get_untracked());
        filter.set(String::new());
        tried.set(false);
        color.set(random_color(browser::random()));
    };

    view! {
        <section class="panel subscriptions" aria-labelledby="subs-h">
            <h2 id="subs-h">"Subscriptions"</h2>
            <form on:submit=move |ev| {
                ev.prevent_default();
                subscribe();
            }>
                <div class="grid">
                    <div class="field wide">
                        <label for="sub-filter">"Topic filter"</label>
                        <input
                            id="sub-filter"
                            type="text"
                            spellcheck="false"
                            placeholder="class/#"
                            prop:value=filter
                            on:input=move |ev| filter.set(event_target_value(&ev))
                            aria-invalid=invalid(move || error().is_some())
                            aria-describedby="sub-filter-error"
                        />
                        <p class="error" id="sub-filter-error">{text(move || error().unwrap_or_default())}</p>
                    </div>
                    <div class="field">
                        <label for="sub-qos">"QoS"</label>
                        <select id="sub-qos" on:change=move |ev| {
                            if let Some(q) = parse_qos(&event_target_value(&ev)) {
                                qos.set(q);
                            }
                        }>
                            {qos_options()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="sub-color">"Colour"</label>
                        <input
                            id="sub-color"
                            type="color"
                            prop:value=color
                            on:input=move |ev| color.set(event_target_value(&ev))
                        />
                    </div>
                </div>
                <div class="actions">
                    <button type="submit" class="primary">"Subscribe"</button>
                </div>
            </form>
            <ul class="sub-list" aria-label="Subscriptions">
                <For
                    each=move || ui.subs.with(|s| s.items().to_vec())
                    key=|s| (s.id, s.state, s.color.clone(), s.qos)
                    children=move |s| view! { <SubRow sub=s /> }
                />
            </ul>
        </section>
    }
}

#[component]
fn SubRow(sub: Subscription) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = sub.id;
    let name = sub.filter.to_string();
    let selected = move || ui.subs.with(|s| s.selected().is_some_and(|x| x.id == id));
    let (state_text, bad) = match sub.state {
        SubState::Pending => ("waiting to subscribe".to_owned(), false),
        SubState::Requested => ("subscribing…".to_owned(), false),
        SubState::Granted(q) => (format!("QoS {} granted", q as u8), false),
        SubState::Refused(code) => (format!("refused: {code}"), true),
    };
    view! {
        <li class="sub" style:border-left-color=sub.color.clone()>
            <button
                type="button"
                class="sub-filter"
                aria-pressed=text(move || selected().to_string())
                title="Show only messages matching this filter"
                on:click=move |_| ui.subs.update(|s| s.toggle_selected(id))
            >
                {name.clone()}
            </button>
            <span class="sub-state" class:bad=bad>{state_text}</span>
            <button
                type="button"
                class="small"
                aria-label=format!("Unsubscribe {name}")
                on:click=move |_| client().unsubscribe(id)
            >
                "Unsubscribe"
            </button>
        </li>
    }
}
