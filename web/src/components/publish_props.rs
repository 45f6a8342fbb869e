//! The MQTT 5 properties of the Publish form: Content Type, Message Expiry Interval, Response
//! Topic, Correlation Data, Payload Format Indicator and any number of User Properties. The
//! rules are [`PublishPropsForm::validate`]'s; this only renders and edits the form.

use leptos::prelude::*;

use super::{flag, invalid, text};
use crate::settings::FieldError;
use crate::state::publish_props::PublishPropsForm;

type Get = fn(&PublishPropsForm) -> String;
type Set = fn(&mut PublishPropsForm, String);

#[component]
pub fn PublishPropsFields(
    form: RwSignal<PublishPropsForm>,
    /// Validation messages, shown once the user has tried to publish.
    errors: Signal<Vec<FieldError>>,
) -> impl IntoView {
    let error = move |field: &'static str| {
        errors.with(|e| {
            let text: Vec<&str> = e
                .iter()
                .filter(|x| x.field == field)
                .map(|x| x.message.as_str())
                .collect();
            (!text.is_empty()).then(|| text.join(" "))
        })
    };
    let input =
        move |label: &'static str, field: &'static str, hint: &'static str, get: Get, set: Set| {
            let id = field.replace('_', "-");
            let err_id = format!("{id}-error");
            view! {
                <div class="field">
                    <label for=id.clone()>{label}</label>
                    <input
                        id=id
                        type="text"
                        spellcheck="false"
                        autocomplete="off"
                        placeholder=hint
                        prop:value=text(move || form.with(get))
                        on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
                        aria-invalid=invalid(move || error(field).is_some())
                        aria-describedby=err_id.clone()
                    />
                    <p class="error" id=err_id>{text(move || error(field).unwrap_or_default())}</p>
                </div>
            }
        };
    // Rows are keyed by id; their number is their current position, for the labels.
    let position =
        move |id: u64| form.with(|f| f.user.iter().position(|r| r.id == id).map_or(0, |i| i + 1));
    let user_row = move |id: u64| {
        let name_id = format!("pub-user-{id}-name");
        let value_id = format!("pub-user-{id}-value");
        let get = move |value: bool| {
            form.with(|f| {
                f.user
                    .iter()
                    .find(|r| r.id == id)
                    .map(|r| {
                        if value {
                            r.value.clone()
                        } else {
                            r.name.clone()
                        }
                    })
                    .unwrap_or_default()
            })
        };
        view! {
            <div class="user-prop">
                <label for=name_id.clone()>{text(move || format!("User property {} name", position(id)))}</label>
                <input
                    id=name_id
                    type="text"
                    spellcheck="false"
                    prop:value=text(move || get(false))
                    on:input=move |ev| form.update(|f| f.set_user(id, false, event_target_value(&ev)))
                />
                <label for=value_id.clone()>{text(move || format!("User property {} value", position(id)))}</label>
                <input
                    id=value_id
                    type="text"
                    spellcheck="false"
                    prop:value=text(move || get(true))
                    on:input=move |ev| form.update(|f| f.set_user(id, true, event_target_value(&ev)))
                />
                <button
                    type="button"
                    class="small"
                    aria-label=text(move || format!("Remove user property {}", position(id)))
                    on:click=move |_| form.update(|f| f.remove_user_row(id))
                >
                    "Remove"
                </button>
            </div>
        }
    };

    view! {
        <details class="wide mqtt5-props">
            <summary>"MQTT 5 properties"</summary>
            <div class="grid">
                {input("Content Type", "pub_content_type", "application/json", |f| f.content_type.clone(), |f, v| f.content_type = v)}
                {input("Message Expiry Interval (s)", "pub_expiry", "never expires", |f| f.expiry.clone(), |f, v| f.expiry = v)}
                {input("Response Topic", "pub_response_topic", "replies/me", |f| f.response_topic.clone(), |f, v| f.response_topic = v)}
                {input("Correlation Data", "pub_correlation", "request-42", |f| f.correlation.clone(), |f, v| f.correlation = v)}
                <div class="check wide">
                    <input
                        id="pub-utf8"
                        type="checkbox"
                        prop:checked=flag(move || form.with(|f| f.payload_utf8))
                        on:change=move |ev| form.update(|f| f.payload_utf8 = event_target_checked(&ev))
                    />
                    <label for="pub-utf8">"Payload is UTF-8 text (Payload Format Indicator)"</label>
                </div>
                <fieldset class="wide user-props" aria-describedby="pub-user-error">
                    <legend>"User Properties"</legend>
                    <For each=move || form.with(|f| f.user.iter().map(|r| r.id).collect::<Vec<_>>()) key=|id| *id children=user_row />
                    <button type="button" class="small" on:click=move |_| form.update(PublishPropsForm::add_user_row)>
                        "Add user property"
                    </button>
                    <p class="error" id="pub-user-error">{text(move || error("pub_user").unwrap_or_default())}</p>
                </fieldset>
            </div>
        </details>
    }
}
