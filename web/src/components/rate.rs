//! The header's message-rate meter: a `<meter>` named "Message rate" and the number beside
//! it, refreshed once a second (never per message).

use leptos::prelude::*;

use super::text;
use crate::model::num::fixed;
use crate::ui::Ui;

#[component]
pub fn RateMeterView() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let read = move || {
        let now = ui.now.get();
        ui.rate.with_untracked(|r| (r.per_second(now), r.scale()))
    };
    let rate = move || {
        let r = read().0;
        fixed(r, if r >= 100.0 { 0 } else { 1 })
    };
    view! {
        <div class="rate">
            <meter
                min="0"
                max=text(move || read().1.to_string())
                value=text(move || fixed(read().0, 1))
                aria-label="Message rate"
                aria-valuetext=text(move || format!("{} messages per second", rate()))
            ></meter>
            <span class="rate-text" aria-hidden="true">{text(move || format!("{} msg/s", rate()))}</span>
        </div>
    }
}
