//! Shared widgets and the side panels, thin views over [`crate::ui::Ui`]; the rules live in
//! `model`, `state`, `settings` and `mqtt`.

pub mod connection;
pub mod fields;
pub mod publish;
pub mod publish_props;
pub mod status;
pub mod subscriptions;
pub mod tabs;

use leptos::prelude::*;

use crate::mqtt::client::Client;

/// The client provided by [`crate::App`].
pub fn client() -> Client {
    expect_context::<StoredValue<Client, LocalStorage>>().get_value()
}
