//! The Connection panel: where to connect, as whom, and the Last Will.

use leptos::prelude::*;
use tern_codec::Version;

use super::fields::{check_field, qos_field, text_field};
use super::profiles::ProfilesPanel;
use super::{client, flag, text};
use crate::browser;
use crate::settings::{parse_version, random_client_id, version_str};
use crate::ui::{Phase, Ui};

#[component]
pub fn ConnectionPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let phase = move || ui.status.with(|s| s.phase);
    let busy = flag(move || matches!(phase(), Phase::Connected | Phase::Connecting));
    let idle = flag(move || matches!(phase(), Phase::Disconnected | Phase::Failed));
    let v5 = move || ui.settings.with(|s| s.version.is_v5());
    let share = text(move || {
        format!(
            "{}?{}",
            browser::page_base(),
            ui.settings.with(|s| s.share_query())
        )
    });

    view! {
        <section class="panel connection" aria-labelledby="connection-h">
            <h2 id="connection-h">"Connection"</h2>
            <form on:submit=move |ev| {
                ev.prevent_default();
                client().connect();
            }>
                <fieldset class="grid" prop:disabled=busy>
                    <legend class="sr-only">"Broker address and session"</legend>
                    {text_field("Host", "host", "text", |s| s.host.clone(), |s, v| s.host = v)}
                    {text_field("Port", "port", "number", |s| s.port.clone(), |s, v| s.port = v)}
                    {text_field("Path", "path", "text", |s| s.path.clone(), |s, v| s.path = v)}
                    {check_field("TLS (wss)", "tls", true, |s| s.tls, |s, v| s.tls = v)}
                    <div class="field wide">
                        <label for="f-client_id">"Client ID"</label>
                        <div class="row">
                            <input
                                id="f-client_id"
                                type="text"
                                spellcheck="false"
                                aria-describedby="f-client_id-error"
                                prop:value=text(move || ui.settings.with(|s| s.client_id.clone()))
                                on:input=move |ev| {
                                    ui.settings.update(|s| s.client_id = event_target_value(&ev))
                                }
                            />
                            <button
                                type="button"
                                on:click=move |_| {
                                    ui.settings.update(|s| s.client_id = random_client_id(browser::random))
                                }
                            >
                                "New ID"
                            </button>
                        </div>
                        <p class="error" id="f-client_id-error">{text(move || ui.field_error("client_id").unwrap_or_default())}</p>
                    </div>
                    <div class="field">
                        <label for="f-version">"Protocol version"</label>
                        <select
                            id="f-version"
                            prop:value=text(move || version_str(ui.settings.with(|s| s.version)).to_owned())
                            on:change=move |ev| {
                                let v = parse_version(&event_target_value(&ev)).unwrap_or(Version::V3_1_1);
                                ui.settings.update(|s| s.version = v);
                            }
                        >
                            <option value="3.1">"MQTT 3.1"</option>
                            <option value="3.1.1">"MQTT 3.1.1"</option>
                            <option value="5">"MQTT 5.0"</option>
                        </select>
                    </div>
                    {text_field("Keep Alive (s)", "keepalive", "number", |s| s.keep_alive.clone(), |s, v| s.keep_alive = v)}
                    {check_field("Clean Session", "clean", true, |s| s.clean_session, |s, v| s.clean_session = v)}
                    <Show when=v5>
                        {text_field("Session expiry (s)", "session_expiry", "number", |s| s.session_expiry.clone(), |s, v| s.session_expiry = v)}
                    </Show>
                    <details class="wide">
                        <summary>"Credentials"</summary>
                        <div class="grid">
                            {text_field("Username", "username", "text", |s| s.username.clone(), |s, v| s.username = v)}
                            {text_field("Password", "password", "password", |s| s.password.clone(), |s, v| s.password = v)}
                            {check_field("Remember password on this computer", "remember_password", false, |s| s.remember_password, |s, v| s.remember_password = v)}
                        </div>
                    </details>
                    <details class="wide">
                        <summary>"Last Will"</summary>
                        <div class="grid">
                            {text_field("Will topic", "will_topic", "text", |s| s.will_topic.clone(), |s, v| s.will_topic = v)}
                            {qos_field("Will QoS", "will_qos", |s| s.will_qos, |s, v| s.will_qos = v)}
                            {check_field("Will retain", "will_retain", false, |s| s.will_retain, |s, v| s.will_retain = v)}
                            {text_field("Will message", "will_message", "text", |s| s.will_message.clone(), |s, v| s.will_message = v)}
                        </div>
                    </details>
                </fieldset>
                <div class="actions">
                    <button type="submit" class="primary" prop:disabled=busy>"Connect"</button>
                    <button type="button" prop:disabled=idle on:click=move |_| client().disconnect()>
                        "Disconnect"
                    </button>
                </div>
                <ProfilesPanel />
                <details class="share">
                    <summary>"Share link"</summary>
                    <div class="field">
                        <label for="f-share">"Link that opens this page with this broker and these subscriptions"</label>
                        <input id="f-share" type="text" readonly prop:value=share />
                    </div>
                </details>
            </form>
        </section>
    }
}
