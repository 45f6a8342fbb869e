//! Tern's browser MQTT dashboard (Leptos, client-side rendered).
//!
//! # Layout
//! * [`mqtt`] — the MQTT client: pure protocol [`mqtt::session`], browser socket and driver.
//! * [`state`] — view state in plain Rust: messages, subscriptions, payload rendering.
//! * [`settings`] — the connection form model, localStorage record and URL parameters.
//! * [`ui`] — the reactive signals shared by the components.
//! * [`model`] — the dashboard's models: topic tree, series, trace, `$SYS`, lesson, export.
//! * [`components`] — the side panels, the status line and shared widgets (tabs …).
//! * [`views`] — the tabs of the main area: Messages, Topics, Trace, Broker, Lesson.
//!
//! Everything except `browser`, `mqtt::socket`, `mqtt::client` and the components compiles
//! and is tested natively (`cargo test -p tern-web`).

pub mod browser;
pub mod components;
pub mod model;
pub mod mqtt;
pub mod settings;
pub mod state;
pub mod ui;
pub mod views;

use leptos::prelude::*;

use components::connection::ConnectionPanel;
use components::presenter::{PresenterButton, PresenterViews};
use components::publish::PublishPanel;
use components::rate::RateMeterView;
use components::status::StatusBar;
use components::subscriptions::SubscriptionsPanel;
use components::tabs::{TabPanel, Tabs};
use mqtt::client::Client;
use settings::{Settings, check_topic_filter, query, random_client_id};
use state::messages::MessageLog;
use state::subscriptions::{Subscriptions, random_color};
use ui::Ui;

/// Builds the initial state (page location → stored settings → URL parameters), provides
/// it, and lays out the panels.
#[component]
pub fn App() -> impl IntoView {
    let page = browser::page_location();
    let mut settings = Settings::defaults(&page, random_client_id(browser::random));
    if let Some(stored) = browser::load_settings() {
        settings.apply(&query::parse(&stored));
    }
    if let Some(id) = browser::load_client_id() {
        settings.client_id = id;
    } else {
        // A stored id belongs to another tab's session; this tab starts with its own.
        settings.client_id = random_client_id(browser::random);
    }
    settings.apply(&query::parse(&browser::query_string()));

    let mut subs = Subscriptions::default();
    for s in &settings.subs {
        if let Ok(f) = check_topic_filter(&s.filter) {
            let color = s
                .color
                .clone()
                .unwrap_or_else(|| random_color(browser::random()));
            subs.add(f, s.qos, color);
        }
    }
    let log = MessageLog::new(settings.capacity());
    let auto_connect = settings.auto_connect;
    let ui = Ui::new(settings, subs, log, browser::tz_offset_minutes());
    let client = Client::new(ui, page.https);
    provide_context(ui);
    provide_context(StoredValue::new_local(client.clone()));
    if auto_connect {
        client.connect();
    }
    // One clock for ages, rates and the meter: a tick a second, whatever the traffic.
    ui.now.set(browser::now_ms());
    gloo_timers::callback::Interval::new(1_000, move || ui.now.set(browser::now_ms())).forget();

    view! {
        <header class="top">
            <h1>"Tern " <span class="tagline">"MQTT dashboard"</span></h1>
            <RateMeterView />
            <StatusBar />
            <PresenterButton />
        </header>
        <main class="layout">
            <div class="side">
                <ConnectionPanel />
                <SubscriptionsPanel />
                <PublishPanel />
            </div>
            <Show
                when=move || ui.presenter.get()
                fallback=|| view! { <div class="views"><Tabs /><TabPanel /></div> }
            >
                <PresenterViews />
            </Show>
        </main>
    }
}

/// Bytes of wasm linear memory, where the models (log, tree, trace) live: the flood
/// benchmark reads it (`window.wasmBindings.memory_bytes()`) next to the JS heap.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn memory_bytes() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let b = (core::arch::wasm32::memory_size(0) * 65_536) as f64;
    b
}
