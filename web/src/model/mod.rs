//! The dashboard's models in plain Rust, tested natively; the views only render them.
//!
//! * [`trace`] — every packet sent and received, bounded, with fields in words
//! * [`value`] — a small order-keeping JSON value (payloads, files, profiles)
//! * [`html`] — escaped HTML for the rows and charts rebuilt many times a second

pub mod chart;
pub mod diff;
pub mod html;
pub mod num;
pub mod rate;
pub mod series;
pub mod sys;
pub mod trace;
pub mod tree;
pub mod value;
