//! The status line: connection state in words, the reconnect countdown and its controls.

use leptos::prelude::*;

use super::{client, text};
use crate::ui::{Phase, Ui};

#[component]
pub fn StatusBar() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let phase = move || ui.status.with(|s| s.phase);
    view! {
        <div class=text(move || format!("status {}", phase().word()))>
            <p role="status" aria-label="Connection status" aria-live="polite" aria-atomic="true">
                <strong class="phase">{text(move || phase().word().to_owned())}</strong>
                " "
                <span class="status-text">{text(move || ui.status.with(|s| s.text.clone()))}</span>
                {move || {
                    ui.status
                        .with(|s| s.countdown)
                        .map(|n| view! { " " <span class="countdown">{format!("Reconnecting in {n} s…")}</span> })
                }}
            </p>
            <Show when=move || phase() == Phase::Reconnecting>
                <button type="button" class="small" on:click=move |_| client().reconnect_now()>
                    "Reconnect now"
                </button>
                <button type="button" class="small" on:click=move |_| client().disconnect()>
                    "Stop"
                </button>
            </Show>
        </div>
    }
}
