//! The tabs of the main area, one folder per view, each a thin component over one model.

pub mod messages;
pub mod trace;
