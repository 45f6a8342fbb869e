//! The dashboard's models in plain Rust, tested natively; the views only render them.
//!
//! * [`trace`] — every packet sent and received, bounded, with fields in words
//! * [`value`] — a small order-keeping JSON value (payloads, files, profiles)
//! * [`html`] — escaped HTML for the rows and charts rebuilt many times a second

pub mod base64;
pub mod chart;
pub mod diff;
pub mod export;
pub mod html;
pub mod lesson;
pub mod num;
pub mod profiles;
pub mod qr;
pub mod rate;
pub mod replay;
pub mod series;
pub mod sys;
pub mod trace;
pub mod tree;
pub mod value;
