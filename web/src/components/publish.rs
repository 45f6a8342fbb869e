//! The Publish panel: topic (validated as you type), QoS, Retain, message and, in MQTT 5,
//! message properties; the button or Ctrl+Enter publishes.

use leptos::prelude::*;
use tern_codec::QoS;

use super::fields::qos_options;
use super::publish_props::PublishPropsFields;
use super::{client, flag, invalid, text};
use crate::settings::{check_topic_name, parse_qos};
use crate::state::publish_props::PublishPropsForm;
use crate::ui::{Note, Phase, Ui};

#[component]
pub fn PublishPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let topic = ui.publish_topic;
    let qos = RwSignal::new(QoS::AtMostOnce);
    let retain = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    // The empty-topic error appears only after a publish attempt, not on an untouched form.
    let tried = RwSignal::new(false);
    let topic_error = move || {
        let t = topic.get();
        if t.is_empty() && !tried.get() {
            return None;
        }
        check_topic_name(&t).err()
    };
    let connected = move || ui.status.with(|s| s.phase == Phase::Connected);
    let version = move || ui.settings.with(|s| s.version);
    let props = RwSignal::new(PublishPropsForm::default());
    let props_errors = Signal::derive(move || {
        let v = version();
        tried
            .get()
            .then(|| props.with(|f| f.validate(v).err()))
            .flatten()
            .unwrap_or_default()
    });

    let publish = move || {
        tried.set(true);
        if topic_error().is_some() {
            return;
        }
        let v = ui.settings.with_untracked(|s| s.version);
        let properties = match props.with_untracked(|f| f.validate(v)) {
            Ok(p) => p,
            Err(errors) => {
                let first = errors
                    .first()
                    .map(|e| e.message.as_str())
                    .unwrap_or_default();
                let text = format!("Not sent: {first}");
                ui.publish_note.set(Some(Note { ok: false, text }));
                return;
            }
        };
        let t = topic.get_untracked();
        ui.settings.update(|s| s.publish_topic.clone_from(&t));
        client().publish(
            &t,
            &message.get_untracked(),
            qos.get_untracked(),
            retain.get_untracked(),
            properties,
        );
    };

    view! {
        <section class="panel publish" aria-labelledby="publish-h">
            <h2 id="publish-h">"Publish"</h2>
            <form
                on:submit=move |ev| {
                    ev.prevent_default();
                    publish();
                }
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        publish();
                    }
                }
            >
                <div class="grid">
                    <div class="field wide">
                        <label for="pub-topic">"Topic"</label>
                        <input
                            id="pub-topic"
                            type="text"
                            spellcheck="false"
                            placeholder="class/room1/hello"
                            prop:value=topic
                            on:input=move |ev| topic.set(event_target_value(&ev))
                            aria-invalid=invalid(move || topic_error().is_some())
                            aria-describedby="pub-topic-error"
                        />
                        <p class="error" id="pub-topic-error">{text(move || topic_error().unwrap_or_default())}</p>
                    </div>
                    <div class="field">
                        <label for="pub-qos">"QoS"</label>
                        <select
                            id="pub-qos"
                            on:change=move |ev| {
                                if let Some(q) = parse_qos(&event_target_value(&ev)) {
                                    qos.set(q);
                                }
                            }
                        >
                            {qos_options()}
                        </select>
                    </div>
                    <div class="check">
                        <input
                            id="pub-retain"
                            type="checkbox"
                            prop:checked=retain
                            on:change=move |ev| retain.set(event_target_checked(&ev))
                        />
                        <label for="pub-retain">"Retain"</label>
                    </div>
                    <div class="field wide">
                        <label for="pub-message">"Message"</label>
                        <textarea
                            id="pub-message"
                            rows="3"
                            spellcheck="false"
                            aria-describedby="pub-hint"
                            prop:value=message
                            on:input=move |ev| message.set(event_target_value(&ev))
                        ></textarea>
                    </div>
                    <Show when=move || version().is_v5()>
                        <PublishPropsFields form=props errors=props_errors />
                    </Show>
                </div>
                <div class="actions">
                    <button type="submit" class="primary" prop:disabled=flag(move || !connected())>
                        "Publish"
                    </button>
                    <span class="hint" id="pub-hint">"Ctrl+Enter publishes"</span>
                </div>
                <p class="note" role="status" class:bad=flag(move || ui.publish_note.with(|n| n.as_ref().is_some_and(|n| !n.ok)))>
                    {text(move || ui.publish_note.with(|n| n.as_ref().map(|n| n.text.clone()).unwrap_or_default()))}
                </p>
            </form>
        </section>
    }
}
