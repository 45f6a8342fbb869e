//! "Export" (the message log or the trace, as JSON Lines or CSV) and the replay of a JSON
//! Lines file with progress and Stop. The formats are [`crate::model::export`]'s.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{client, flag, text};
use crate::browser::{self, now_ms};
use crate::model::export;
use crate::model::replay::{Pace, Replay};
use crate::ui::Ui;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Messages,
    Trace,
}

#[component]
pub fn ExportControls(what: What) -> impl IntoView {
    let ui = expect_context::<Ui>();
    let csv = RwSignal::new(false);
    let id = match what {
        What::Messages => "export-format-messages",
        What::Trace => "export-format-trace",
    };
    let save = move |_| {
        let csv = csv.get_untracked();
        let (stem, body) = match what {
            What::Messages => (
                "tern-messages",
                ui.log.with_untracked(|l| {
                    let mut all = l.page(None, None, usize::MAX).rows;
                    all.reverse();
                    if csv {
                        export::messages_csv(all.iter().map(|m| &**m))
                    } else {
                        export::messages_jsonl(all.iter().map(|m| &**m))
                    }
                }),
            ),
            What::Trace => (
                "tern-trace",
                ui.trace.with_untracked(|t| {
                    if csv {
                        export::trace_csv(t.iter(false))
                    } else {
                        export::trace_jsonl(t.iter(false))
                    }
                }),
            ),
        };
        let (ext, mime) = if csv {
            ("csv", "text/csv")
        } else {
            ("jsonl", "application/x-ndjson")
        };
        browser::download(&format!("{stem}.{ext}"), mime, &body);
    };
    view! {
        <span class="export">
            <label class="inline" for=id>"File format"</label>
            <select id=id on:change=move |ev| csv.set(event_target_value(&ev) == "csv")>
                <option value="jsonl">"JSON Lines"</option>
                <option value="csv">"CSV"</option>
            </select>
            <button type="button" on:click=save>"Export"</button>
        </span>
    }
}

/// Loads a JSON Lines file and publishes its messages again.
#[component]
pub fn ReplayControls() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let fast = RwSignal::new(false);
    let running = RwSignal::new(false);
    let stop = RwSignal::new(false);
    let progress = RwSignal::new((0usize, 0usize));
    let note = RwSignal::new(String::new());
    let _ = ui;
    let start = move |_| {
        let Some(input) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("replay-file"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let c = client();
        let pace = if fast.get_untracked() {
            Pace::AsFastAsAllowed
        } else {
            Pace::Original
        };
        running.set(true);
        stop.set(false);
        leptos::task::spawn_local(async move {
            let result = async {
                let text = browser::read_file(&input).await?;
                let items = export::parse_jsonl(&text)?;
                if !c.is_connected() {
                    return Err(
                        "Connect first: the messages are published to the connected broker."
                            .to_owned(),
                    );
                }
                let mut plan = Replay::new(items, pace);
                let total = plan.items.len();
                progress.set((0, total));
                let t0 = now_ms();
                while !plan.is_done() && !stop.get_untracked() {
                    let range = plan.due(now_ms() - t0);
                    for i in range {
                        let m = plan.items[i].clone();
                        if let Err(e) =
                            c.publish_quiet(m.topic, m.payload, m.qos, m.retain, m.properties)
                        {
                            if e.contains("waiting") {
                                plan.retry_from(i);
                                break;
                            }
                            return Err(format!("Stopped at message {}: {e}", i + 1));
                        }
                    }
                    progress.set((plan.sent(), total));
                    let wait = plan.wait_ms(now_ms() - t0).clamp(4, 250);
                    TimeoutFuture::new(u32::try_from(wait).unwrap_or(250)).await;
                }
                Ok(if stop.get_untracked() {
                    format!("Stopped after {} of {total} messages.", plan.sent())
                } else {
                    format!("Replayed {total} messages.")
                })
            }
            .await;
            note.set(result.unwrap_or_else(|e| e));
            running.set(false);
        });
    };
    view! {
        <details class="replay">
            <summary>"Replay a file"</summary>
            <div class="replay-row">
                <input id="replay-file" type="file" accept=".jsonl,.ndjson,.json,application/x-ndjson" aria-label="JSON Lines file to replay" />
                <span class="check">
                    <input id="replay-fast" type="checkbox" prop:checked=flag(move || fast.get()) on:change=move |ev| fast.set(event_target_checked(&ev)) />
                    <label for="replay-fast">"As fast as allowed (else the original spacing)"</label>
                </span>
                <button type="button" prop:disabled=flag(move || running.get()) on:click=start>"Start replay"</button>
                <button type="button" prop:disabled=flag(move || !running.get()) on:click=move |_| stop.set(true)>"Stop replay"</button>
            </div>
            <progress aria-label="Replay progress" max=text(move || progress.get().1.max(1).to_string()) value=text(move || progress.get().0.to_string())></progress>
            <span class="replay-count">{text(move || { let (a, b) = progress.get(); if b == 0 { String::new() } else { format!("{a} of {b}") } })}</span>
            <p class="note" role="status">{text(move || note.get())}</p>
        </details>
    }
}
