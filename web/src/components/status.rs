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
                        // A timer with its own aria-live="off": the seconds ticking down must
                        // not make the whole status be read out again every second.
                        .map(|n| view! { " " <span class="countdown" role="timer" aria-live="off">{format!("Reconnecting in {n} s…")}</span> })
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
