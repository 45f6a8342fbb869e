//! The selected topic's panel ([`crate::model::tree::details`]) with its actions: plot a
//! number, "Publish to this topic" (fills in the Publish form), and "Clear retained" (an
//! empty retained message, after a confirmation).

use leptos::prelude::*;
use tern_codec::QoS;
use wasm_bindgen::JsCast;

use crate::browser;
use crate::components::{client, text};
use crate::model::series::number_at;
use crate::model::tree::details::{controls_html, values_html};
use crate::ui::Ui;

#[component]
pub fn TopicDetails() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let confirm = RwSignal::new(None::<String>);
    // Rebuilt on every change but set into the page only when the text differs, so the
    // controls stay the same elements while values stream in.
    let controls = text(move || {
        ui.tree.with(|t| match t.selected() {
            None => r#"<p class="empty">Select a topic in the tree to see its values and what changed, to plot its numbers, or to publish to it.</p>"#.to_owned(),
            Some(id) => {
                let topic = t.topic(id);
                ui.charts.with(|c| controls_html(t, id, |f| c.has(&topic, f)))
            }
        })
    });
    let values = text(move || {
        let now = ui.now.get();
        ui.tree.with(|t| {
            t.selected()
                .map(|id| values_html(t, id, now, ui.tz_offset))
                .unwrap_or_default()
        })
    });
    let selected_topic = move || {
        ui.tree
            .with_untracked(|t| t.selected().map(|id| t.topic(id)))
    };
    // One handler for the panel's controls, told apart by `data-act`; checkboxes act on
    // "change", buttons on "click".
    let on_act = move |ev: &web_sys::Event| {
        let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let Some(topic) = selected_topic() else {
            return;
        };
        let change = ev.type_() == "change";
        match el.get_attribute("data-act").as_deref() {
            Some("plot") if change => {
                let field = el.get_attribute("data-field").unwrap_or_default();
                let on = el
                    .dyn_ref::<web_sys::HtmlInputElement>()
                    .is_some_and(web_sys::HtmlInputElement::checked);
                if on {
                    plot(ui, &topic, std::slice::from_ref(&field));
                } else {
                    ui.charts.update(|c| c.remove(&topic, &field));
                }
            }
            Some("publish") if !change => {
                ui.publish_topic.set(topic);
                browser::focus("pub-message");
            }
            Some("clear") if !change => confirm.set(Some(topic)),
            _ => {}
        }
    };
    let clear = move |_| {
        if let Some(t) = confirm.get_untracked() {
            // [MQTT-3.3.1-10]: a retained message with an empty payload removes the
            // retained message of the topic.
            client().publish(&t, "", QoS::AtLeastOnce, true, Default::default());
            ui.tree.update(|tr| {
                if let Some(id) = tr.find(&t) {
                    tr.clear_retained(id);
                }
            });
        }
        confirm.set(None);
    };
    // A newly selected topic's numbers go on the chart (up to four).
    Effect::new(move |prev: Option<Option<String>>| {
        ui.tree.track();
        let t = selected_topic();
        if prev.as_ref() != Some(&t)
            && let Some(topic) = &t
        {
            let fields: Vec<String> = ui.tree.with_untracked(|tr| {
                tr.find(topic)
                    .and_then(|id| tr.node(id))
                    .and_then(|n| n.last())
                    .map(|v| {
                        crate::model::series::numbers(&v.payload)
                            .into_iter()
                            .map(|(f, _)| f)
                            .take(4)
                            .collect()
                    })
                    .unwrap_or_default()
            });
            plot(ui, topic, &fields);
        }
        t
    });

    view! {
        <div class="topic-details">
            <div inner_html=controls on:click=move |ev| on_act(&ev) on:change=move |ev| on_act(&ev)></div>
            <Show when=move || confirm.with(Option::is_some)>
                <div role="alertdialog" aria-label="Clear retained message?" class="confirm">
                    <p>{text(move || format!(
                        "Clear the retained message of {}? The page publishes an empty retained message; the broker then forgets the stored one and new subscribers no longer receive it.",
                        confirm.get().unwrap_or_default()
                    ))}</p>
                    <button type="button" class="primary" on:click=clear>"Yes, clear it"</button>
                    <button type="button" on:click=move |_| confirm.set(None)>"Cancel"</button>
                </div>
            </Show>
            <div inner_html=values></div>
        </div>
    }
}

/// Puts `fields` of `topic` on the chart, starting from the values the tree still holds.
pub fn plot(ui: Ui, topic: &str, fields: &[String]) {
    let seeds: Vec<(String, Vec<(u64, f64)>)> = ui.tree.with_untracked(|t| {
        let node = t.find(topic).and_then(|id| t.node(id));
        fields
            .iter()
            .map(|f| {
                let pts = node
                    .map(|n| {
                        n.history
                            .iter()
                            .filter_map(|v| number_at(&v.payload, f).map(|x| (v.at_ms, x)))
                            .collect()
                    })
                    .unwrap_or_default();
                (f.clone(), pts)
            })
            .collect()
    });
    if seeds.is_empty() {
        return;
    }
    ui.charts.update(|c| {
        for (f, pts) in seeds {
            let _ = c.add(topic, &f, pts);
        }
    });
}
