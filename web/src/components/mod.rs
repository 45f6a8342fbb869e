//! Thin views over [`crate::ui::Ui`]; the rules live in `state`, `settings` and `mqtt`.

pub mod connection;
pub mod fields;
pub mod message_props;
pub mod message_row;
pub mod messages;
pub mod publish;
pub mod publish_props;
pub mod status;
pub mod subscriptions;

use leptos::prelude::*;

use crate::mqtt::client::Client;

/// The client provided by [`crate::App`].
pub fn client() -> Client {
    expect_context::<StoredValue<Client, LocalStorage>>().get_value()
}
