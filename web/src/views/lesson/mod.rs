//! The Lesson view: the classroom share panel (QR code of a link that opens the page
//! connected and subscribed, presenter mode's views), the guided lesson one step at a time
//! with its one experiment button, and the live filter tester.

mod run;

use leptos::prelude::*;

use crate::browser;
use crate::components::presenter::PresenterChoice;
use crate::components::{client, flag, text};
use crate::model::html::esc;
use crate::model::lesson::{STEPS, matcher};
use crate::model::qr;
use crate::ui::Ui;

#[component]
pub fn LessonView() -> impl IntoView {
    view! {
        <section class="panel lesson-panel" aria-labelledby="lesson-h">
            <h2 id="lesson-h">"Guided lesson"</h2>
            <div class="lesson-body">
                <Steps />
                <Share />
            </div>
        </section>
    }
}

#[component]
fn Steps() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let step = RwSignal::new(0usize);
    // The outcome of the current step's experiment: (ok, text), or a note while running.
    let result = RwSignal::new(None::<(Option<bool>, String)>);
    let running = RwSignal::new(false);
    let go = move |i: usize| {
        step.set(i.min(STEPS.len() - 1));
        result.set(None);
    };
    let body = text(move || {
        let s = &STEPS[step.get()];
        format!("<h3>{}</h3>{}", s.title, s.text)
    });
    let run_it = move |_| {
        let exp = STEPS[step.get_untracked()].experiment;
        let c = client();
        running.set(true);
        result.set(Some((None, "Running against the broker…".into())));
        leptos::task::spawn_local(async move {
            let r = match run::run(ui, c, exp).await {
                Ok(o) => (Some(o.ok), o.text),
                Err(e) => (Some(false), e),
            };
            result.set(Some(r));
            running.set(false);
        });
    };
    let result_html = text(move || {
        result.with(|r| match r {
            None => String::new(),
            Some((ok, t)) => {
                let (class, mark) = match ok {
                    Some(true) => ("good", "✓ "),
                    Some(false) => ("bad", "✗ "),
                    None => ("", ""),
                };
                let paras: String = t
                    .lines()
                    .map(|l| format!("<p>{mark}{}</p>", esc(l)))
                    .collect();
                format!(r#"<div class="outcome {class}">{paras}</div>"#)
            }
        })
    });
    let nav = STEPS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                r#"<li><button type="button" class="small" data-step="{i}">{}</button></li>"#,
                s.title
            )
        })
        .collect::<String>();
    let on_nav = move |ev: web_sys::MouseEvent| {
        use wasm_bindgen::JsCast;
        if let Some(i) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.get_attribute("data-step"))
            .and_then(|s| s.parse::<usize>().ok())
        {
            go(i);
        }
    };
    view! {
        <div class="steps">
            <nav aria-label="Lesson steps">
                <ol class="step-list" on:click=on_nav inner_html=nav></ol>
            </nav>
            <article class="step" aria-live="polite">
                <div inner_html=body></div>
                <button type="button" class="primary" prop:disabled=flag(move || running.get()) on:click=run_it>
                    {text(move || format!("Run: {}", STEPS[step.get()].run))}
                </button>
                <div role="status" aria-label="Experiment result" inner_html=result_html></div>
                <Show when=move || step.get() == 1>
                    <Tester />
                </Show>
                <div class="actions">
                    <button type="button" prop:disabled=flag(move || step.get() == 0) on:click=move |_| go(step.get_untracked().saturating_sub(1))>
                        "Previous step"
                    </button>
                    <button type="button" prop:disabled=flag(move || step.get() + 1 == STEPS.len()) on:click=move |_| go(step.get_untracked() + 1)>
                        "Next step"
                    </button>
                </div>
            </article>
        </div>
    }
}

/// "Does this filter match this topic?", answered as you type with the codec's rules.
#[component]
fn Tester() -> impl IntoView {
    let filter = RwSignal::new("house/+/main-light".to_owned());
    let topic = RwSignal::new("house/room1/main-light".to_owned());
    let answer = text(move || {
        let (m, why) = matcher::check(&filter.get(), &topic.get());
        match m {
            Some(true) => format!("✓ Matches. {why}"),
            Some(false) => format!("✗ Does not match. {why}"),
            None => why,
        }
    });
    view! {
        <fieldset class="tester">
            <legend>"Does this filter match this topic?"</legend>
            <div class="grid">
                <div class="field">
                    <label for="try-filter">"Filter to test"</label>
                    <input id="try-filter" type="text" spellcheck="false" prop:value=text(move || filter.get()) on:input=move |ev| filter.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="try-topic">"Topic to test"</label>
                    <input id="try-topic" type="text" spellcheck="false" prop:value=text(move || topic.get()) on:input=move |ev| topic.set(event_target_value(&ev)) />
                </div>
            </div>
            <p role="status" aria-label="Match result" class="match">{answer}</p>
        </fieldset>
    }
}

/// The classroom link: opens this page connected to this broker with these subscriptions
/// (each with its QoS), never the password; as text and as a QR code.
#[component]
fn Share() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let link = Memo::new(move |_| {
        format!(
            "{}?{}",
            browser::page_base(),
            ui.settings.with(|s| s.share_query())
        )
    });
    let code = text(move || qr::svg(&link.get()).unwrap_or_else(|e| format!("<p>{}</p>", esc(&e))));
    view! {
        <aside class="share-panel" aria-labelledby="share-h">
            <h3 id="share-h">"Share with the class"</h3>
            <p class="hint">"Students scan this to open the page already connected and subscribed. The link carries the broker and the subscriptions with their QoS — never a password."</p>
            <div class="qr-box" inner_html=code></div>
            <label for="class-link">"Class link"</label>
            <input id="class-link" type="text" readonly prop:value=text(move || link.get()) />
            <PresenterChoice />
        </aside>
    }
}
