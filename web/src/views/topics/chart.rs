//! The chart panel: time window, Pause, the legend (each series with its last value and a
//! Remove button) and the drawing ([`crate::model::chart::svg`]), redrawn with the rest of
//! the live view (at most once per animation frame) and once a second; the pointer reads
//! values.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::MouseEvent;

use crate::browser::now_ms;
use crate::components::text;
use crate::model::chart::Window;
use crate::model::chart::svg::{self, W, short};
use crate::model::html::esc;
use crate::state::clock;
use crate::ui::Ui;

#[component]
pub fn ChartPanel() -> impl IntoView {
    let ui = expect_context::<Ui>();
    let hover_x = RwSignal::new(None::<f64>);
    let drawing = text(move || {
        ui.now.track();
        let x = hover_x.get();
        ui.charts.with(|c| svg::svg(c, now_ms(), ui.tz_offset, x))
    });
    let readout = text(move || {
        let Some(x) = hover_x.get() else {
            return String::new();
        };
        ui.charts.with(|c| {
            svg::hover(c, now_ms(), x)
                .map(|h| {
                    let vals: Vec<String> = h
                        .values
                        .iter()
                        .map(|(l, _, _, v)| format!("{l}: {}", short(*v)))
                        .collect();
                    format!(
                        "{} — {}",
                        &clock(h.at_ms, ui.tz_offset)[..8],
                        vals.join(", ")
                    )
                })
                .unwrap_or_default()
        })
    });
    let legend = text(move || {
        ui.charts.with(|c| {
            c.series()
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // No live values here: the list changes only when the series do, so its
                    // buttons stay put (the values are in the chart's name and the readout).
                    let label = esc(&s.label());
                    format!(
                        r#"<li><span class="swatch" style="background:{}"></span><span class="series-name">{label}</span><button type="button" class="small" data-series="{i}" aria-label="Remove {label} from the chart">Remove</button></li>"#,
                        s.color
                    )
                })
                .collect::<String>()
        })
    });
    // The pointer's position across the box, in drawing units (the drawing fills the width).
    let on_move = move |ev: MouseEvent| {
        if let Some(r) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .map(|e| e.get_bounding_client_rect())
        {
            let x = (f64::from(ev.client_x()) - r.left()) * W / r.width().max(1.0);
            hover_x.set(Some(x));
        }
    };
    let on_remove = move |ev: MouseEvent| {
        let i = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.get_attribute("data-series"))
            .and_then(|s| s.parse::<usize>().ok());
        if let Some(i) = i {
            ui.charts.update(|c| {
                if let Some(s) = c.series().get(i).cloned() {
                    c.remove(&s.topic, &s.field);
                }
            });
        }
    };
    let paused = move || ui.charts.with(|c| c.is_paused());

    view! {
        <div class="chart-panel">
            <div class="toolbar">
                <h3>"Live chart"</h3>
                <span class="spacer"></span>
                <label class="inline" for="chart-window">"Time window"</label>
                <select id="chart-window" on:change=move |ev| {
                    let w = match event_target_value(&ev).as_str() {
                        "10" => Window::TenMinutes,
                        "all" => Window::All,
                        _ => Window::Minute,
                    };
                    ui.charts.update(|c| c.window = w);
                }>
                    <option value="1">"1 minute"</option>
                    <option value="10">"10 minutes"</option>
                    <option value="all">"All kept"</option>
                </select>
                <button
                    type="button"
                    aria-pressed=text(move || paused().to_string())
                    on:click=move |_| ui.charts.update(|c| if c.is_paused() { c.resume() } else { c.pause(now_ms()) })
                >
                    {text(move || if paused() { "Resume chart".into() } else { "Pause chart".into() })}
                </button>
            </div>
            <div class="chart-box" on:mousemove=on_move on:mouseleave=move |_| hover_x.set(None) inner_html=drawing></div>
            <p class="readout">{readout}</p>
            <ul class="legend" aria-label="Chart series" on:click=on_remove inner_html=legend></ul>
        </div>
    }
}
