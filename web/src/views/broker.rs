//! The Broker view: a region named "Broker statistics" fed by `$SYS/broker/#`
//! ([`crate::model::sys`]), which the view subscribes to for the page itself.

use leptos::prelude::*;
use tern_codec::{QoS, TopicFilter};

use crate::components::{client, text};
use crate::model::sys::FILTER;
use crate::ui::{Phase, Ui};

#[component]
pub fn BrokerView() -> impl IntoView {
    let ui = expect_context::<Ui>();
    Effect::new(move |_| {
        if ui.status.with(|s| s.phase == Phase::Connected)
            && let Ok(f) = TopicFilter::new(FILTER)
        {
            client().subscribe_internal(f, QoS::AtMostOnce);
        }
    });
    let body = text(move || {
        let now = ui.now.get();
        ui.sys.with(|s| s.html(now))
    });
    view! {
        <section class="panel broker-panel" aria-label="Broker statistics">
            <h2>"Broker statistics"</h2>
            <div inner_html=body></div>
        </section>
    }
}
