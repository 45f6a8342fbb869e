//! The dashboard's models in plain Rust, tested natively; the views only render them.
//!
//! * [`trace`] — every packet sent and received, bounded, with fields in words

pub mod trace;
