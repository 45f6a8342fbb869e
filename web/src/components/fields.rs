//! Labelled form controls bound to a field of [`Settings`]. Every control has a `<label>`,
//! and validation messages are linked with `aria-describedby`.

use leptos::prelude::*;
use tern_codec::QoS;

use super::{flag, invalid, text};
use crate::settings::{Settings, parse_qos, qos_str};
use crate::ui::Ui;

pub type Get<T> = fn(&Settings) -> T;
pub type Set<T> = fn(&mut Settings, T);

/// A text-like input (`kind` = text, number, password …) with its label and error line.
pub fn text_field(
    label: &'static str,
    field: &'static str,
    kind: &'static str,
    get: Get<String>,
    set: Set<String>,
) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = format!("f-{field}");
    let err_id = format!("f-{field}-error");
    let error = move || ui.field_error(field);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                autocomplete="off"
                spellcheck="false"
                prop:value=text(move || ui.settings.with(get))
                on:input=move |ev| ui.settings.update(|s| set(s, event_target_value(&ev)))
                aria-invalid=invalid(move || error().is_some())
                aria-describedby=err_id.clone()
            />
            <p class="error" id=err_id>{text(move || error().unwrap_or_default())}</p>
        </div>
    }
}

/// A checkbox; `switch` marks on/off settings (read as a toggle by screen readers).
pub fn check_field(
    label: &'static str,
    field: &'static str,
    switch: bool,
    get: Get<bool>,
    set: Set<bool>,
) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = format!("f-{field}");
    view! {
        <div class="check">
            <input
                id=id.clone()
                type="checkbox"
                role=switch.then_some("switch")
                prop:checked=flag(move || ui.settings.with(get))
                on:change=move |ev| ui.settings.update(|s| set(s, event_target_checked(&ev)))
            />
            <label for=id>{label}</label>
        </div>
    }
}

/// A QoS drop-down bound to a settings field.
pub fn qos_field(
    label: &'static str,
    field: &'static str,
    get: Get<QoS>,
    set: Set<QoS>,
) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let id = format!("f-{field}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select
                id=id
                prop:value=text(move || qos_str(ui.settings.with(get)).to_owned())
                on:change=move |ev| {
                    if let Some(q) = parse_qos(&event_target_value(&ev)) {
                        ui.settings.update(|s| set(s, q));
                    }
                }
            >
                {qos_options()}
            </select>
        </div>
    }
}

/// The three QoS choices, for any `<select>`.
pub fn qos_options() -> impl IntoView {
    view! {
        <option value="0">"0 – at most once"</option>
        <option value="1">"1 – at least once"</option>
        <option value="2">"2 – exactly once"</option>
    }
}
