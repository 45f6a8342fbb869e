//! Errors of the broker library. Protocol violations by a client are not errors of the
//! broker: they end that client's session (see `session`), never the server.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors returned by [`crate::Server`] and [`crate::Config`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind {what} listener on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("cannot read config file {path}: {source}")]
    ConfigRead { path: PathBuf, source: io::Error },
    #[error("invalid config file {path}: {message}")]
    ConfigParse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    ConfigInvalid(String),
    #[error("cannot read {what} {path}: {source}")]
    AuthFileRead {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A `password_file` / `acl_file` the broker cannot use (`line` 0: the whole file).
    #[error("invalid {what} {path} line {line}: {message}")]
    AuthFile {
        what: &'static str,
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The `persistence_file` cannot be loaded or written.
    #[error("persistence file {path}: {message}")]
    Persistence { path: PathBuf, message: String },
    #[error("cannot read {what} {path}: {source}")]
    TlsFileRead {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A `certfile` / `keyfile` / `cafile` the TLS listeners cannot use.
    #[error("invalid {what} {path}: {message}")]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    /// `[cluster]`: NATS cannot be reached or its streams cannot be set up.
    #[error("cluster: {0}")]
    Cluster(String),
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}
