//! The snapshot file of the earlier persistence (whole-state snapshots written on shutdown
//! and autosave, Mosquitto's model), kept so that a database can be created from one once
//! (`sqlite::migrate`). Nothing writes this format any more except tests.
//!
//! * `wire`: bounds-checked field reader/writer, CRC-32
//! * `file`: header (magic, version, length, checksum), atomic write
//! * `encode` / `decode`: the body (times as UNIX milliseconds)

mod decode;
mod encode;
mod file;
#[cfg(test)]
mod tests;
mod wire;

pub use decode::decode;
pub use encode::encode;
pub use file::{FORMAT_VERSION, MAGIC, read as read_file, write_atomic};
pub use wire::Malformed;

/// Largest snapshot file read (4 GiB): the import holds the file and the state built from it
/// in memory at once.
pub const MAX_FILE_SIZE: u64 = 4 << 30;
