//! The MQTT 5 properties of a received message, as a compact `<dl>` under its payload.
//! Rendered only for messages that carry properties, so a flood of plain messages costs
//! nothing extra.

use leptos::prelude::*;

use crate::state::properties::PropLine;

#[component]
pub fn MessageProps(lines: Vec<PropLine>) -> impl IntoView {
    view! {
        <dl class="props" role="group" aria-label="MQTT 5 properties">
            {lines
                .into_iter()
                .map(|l| {
                    view! {
                        <div>
                            <dt>{l.name}</dt>
                            <dd>{l.value}</dd>
                        </div>
                    }
                })
                .collect_view()}
        </dl>
    }
}
