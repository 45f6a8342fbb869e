//! Shared widgets and the side panels, thin views over [`crate::ui::Ui`]; the rules live in
//! `model`, `state`, `settings` and `mqtt`.

pub mod connection;
pub mod export;
pub mod fields;
pub mod presenter;
pub mod profiles;
pub mod publish;
pub mod publish_props;
pub mod rate;
pub mod status;
pub mod subscriptions;
pub mod tabs;

use leptos::prelude::*;

use crate::mqtt::client::Client;

/// The client provided by [`crate::App`].
pub fn client() -> Client {
    expect_context::<StoredValue<Client, LocalStorage>>().get_value()
}

/// Reactive text as one type-erased signal. Every view that uses it shares one copy of the
/// rendering code, instead of one generic instantiation per closure (about 1 KB of wasm
/// each): the bundle budget is why (web/README.md, "Bundle").
pub fn text(f: impl Fn() -> String + Send + Sync + 'static) -> Signal<String> {
    Signal::derive(f)
}

/// A reactive flag (for `prop:disabled`, `prop:checked` …), type-erased like [`text`].
pub fn flag(f: impl Fn() -> bool + Send + Sync + 'static) -> Signal<bool> {
    Signal::derive(f)
}

/// `aria-invalid="true"` while `bad` holds, and no attribute otherwise.
pub fn invalid(bad: impl Fn() -> bool + Send + Sync + 'static) -> Signal<Option<String>> {
    Signal::derive(move || bad().then(|| "true".to_owned()))
}
