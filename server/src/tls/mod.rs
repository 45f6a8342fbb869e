//! TLS for the two encrypted listeners, configured the way Mosquitto is: `certfile` (PEM
//! certificate chain, leaf first), `keyfile` (PEM PKCS#8, PKCS#1 RSA or SEC1 EC key), and
//! optionally `cafile` + `require_certificate` for client-certificate authentication.
//!
//! * `mqtts.rs`: MQTT over TLS on its own TCP port (conventionally 8883).
//! * `https.rs`: the HTTP app (web UI, `/mqtt` WebSocket, `/healthz`, `/metrics`) over TLS, so
//!   a page loaded over `https://` connects with `wss://`.
//!
//! rustls with the `ring` provider only: the default aws-lc-rs provider needs cmake and a C
//! toolchain at build time. Both listeners share one certificate; they differ only in ALPN.

pub mod https;
pub mod mqtts;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::Error;

/// PEM files larger than this are refused: a certificate chain or key is a few KiB, and the
/// file is read whole.
const MAX_PEM_FILE: u64 = 1024 * 1024;

/// The acceptors for both TLS listeners, built once at start-up.
#[derive(Clone)]
pub struct TlsAcceptors {
    /// MQTT over TLS: no ALPN (MQTT clients such as mosquitto_pub offer none).
    pub mqtts: TlsAcceptor,
    /// HTTPS: ALPN `http/1.1` only. WebSocket over HTTP/2 would need extended CONNECT
    /// (RFC 8441); offering only HTTP/1.1 keeps the browser's WebSocket on the plain
    /// Upgrade handshake that `/mqtt` already serves.
    pub https: TlsAcceptor,
}

/// Builds the acceptors when a TLS listener (`tls` or `https`) is configured; `None`
/// otherwise. Every file problem is an error naming the file, so start-up stops before any
/// port is opened.
pub fn acceptors(config: &Config) -> Result<Option<TlsAcceptors>, Error> {
    if config.tls.is_none() && config.https.is_none() {
        return Ok(None);
    }
    let (Some(certfile), Some(keyfile)) = (&config.certfile, &config.keyfile) else {
        return Err(Error::ConfigInvalid(
            "the tls and https listeners need both certfile and keyfile".to_owned(),
        ));
    };
    let server = server_config(
        certfile,
        keyfile,
        config.cafile.as_deref(),
        config.require_certificate,
    )?;
    let mut https = server.clone();
    https.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptors {
        mqtts: TlsAcceptor::from(Arc::new(server)),
        https: TlsAcceptor::from(Arc::new(https)),
    }))
}

/// The rustls server configuration from Mosquitto-style files.
///
/// As in Mosquitto, `cafile` is only used to verify client certificates, and only with
/// `require_certificate = true`; without it the server asks for no client certificate.
pub fn server_config(
    certfile: &Path,
    keyfile: &Path,
    cafile: Option<&Path>,
    require_certificate: bool,
) -> Result<rustls::ServerConfig, Error> {
    let certs = read_certs("certfile", certfile)?;
    let key_pem = read_pem("keyfile", keyfile)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| Error::TlsFile {
        what: "keyfile",
        path: keyfile.to_owned(),
        message: format!("no usable PKCS#8, RSA or SEC1 private key: {e}"),
    })?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::ConfigInvalid(format!("TLS set-up: {e}")))?;
    let builder = if require_certificate {
        let Some(cafile) = cafile else {
            return Err(Error::ConfigInvalid(
                "require_certificate = true needs a cafile to verify client certificates"
                    .to_owned(),
            ));
        };
        let mut roots = RootCertStore::empty();
        for cert in read_certs("cafile", cafile)? {
            roots.add(cert).map_err(|e| Error::TlsFile {
                what: "cafile",
                path: cafile.to_owned(),
                message: format!("unusable CA certificate: {e}"),
            })?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| Error::TlsFile {
                what: "cafile",
                path: cafile.to_owned(),
                message: e.to_string(),
            })?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    // `with_single_cert` also checks that the key belongs to the leaf certificate.
    builder
        .with_single_cert(certs, key)
        .map_err(|e| Error::TlsFile {
            what: "certfile/keyfile pair",
            path: certfile.to_owned(),
            message: format!("{e} (keyfile {})", keyfile.display()),
        })
}

/// Every `CERTIFICATE` block of a PEM file; at least one.
fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read_pem(what, path)?;
    let bad = |message: String| Error::TlsFile {
        what,
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no PEM CERTIFICATE found".to_owned()));
    }
    Ok(certs)
}

fn read_pem(what: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    let read_err = |source| Error::TlsFileRead {
        what,
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_PEM_FILE {
        return Err(Error::TlsFile {
            what,
            path: PathBuf::from(path),
            message: format!("{len} bytes; PEM files are limited to {MAX_PEM_FILE}"),
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// Runs the TLS handshake with a deadline (`connect_timeout`: a client that opens the socket
/// and says nothing must not hold a `max_connections` slot forever). A failed or timed-out
/// handshake only concerns that client, so it is logged at debug; `None` also on shutdown.
pub(crate) async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    deadline: Duration,
    shutdown: &CancellationToken,
) -> Option<TlsStream<TcpStream>> {
    tokio::select! {
        () = shutdown.cancelled() => None,
        r = tokio::time::timeout(deadline, acceptor.accept(stream)) => match r {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake not finished within {deadline:?}");
                None
            }
        },
    }
}
