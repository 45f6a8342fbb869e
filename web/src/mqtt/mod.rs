//! The MQTT client: a pure protocol state machine plus a thin browser layer.
//!
//! * [`session`] — protocol state (pure, native tests)
//! * [`options`] — the CONNECT we send
//! * [`backoff`], [`explain`] — reconnect timing and failures in words (pure)
//! * [`stream`] — frames to packets with `tern-codec` (pure)
//! * [`socket`] — `web_sys::WebSocket` with the `mqtt` subprotocol
//! * [`tap`] — every packet sent and received, with its bytes, for the protocol trace
//! * [`client`] — ties session, socket, timers and the view state together

pub mod backoff;
pub mod client;
pub mod explain;
pub mod helper;
pub mod options;
pub mod session;
pub mod socket;
pub mod stream;
pub mod tap;
