//! A throw-away PKI for the TLS tests, generated with rcgen at test time: a CA, a server
//! certificate for `localhost` and `127.0.0.1` signed by it, and a client certificate signed
//! by it (for `require_certificate`). Written as PEM files into a temporary directory, the
//! way an operator would hand them to the broker (`certfile`, `keyfile`, `cafile`).

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::TlsConnector;

pub struct TestPki {
    pub dir: tempfile::TempDir,
    /// CA certificate (what clients trust; also the `cafile` for client certificates).
    pub ca: PathBuf,
    /// Server certificate (`certfile`), SAN `localhost` and `127.0.0.1`.
    pub cert: PathBuf,
    /// Server key (`keyfile`), PKCS#8.
    pub key: PathBuf,
    /// Client certificate and key, signed by the same CA.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    ca_der: CertificateDer<'static>,
    client_cert_der: CertificateDer<'static>,
    client_key_der: Vec<u8>,
}

fn params(cn: &str, sans: &[&str]) -> CertificateParams {
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut p = CertificateParams::new(sans).expect("certificate params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p
}

/// Generates the CA and the certificates and writes the PEM files.
pub fn generate() -> TestPki {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ca_params = params("tern test CA", &[]);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("self-signed CA");

    let server_key = KeyPair::generate().expect("server key");
    let mut server = params("localhost", &["localhost", "127.0.0.1"]);
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &ca).expect("server cert");

    let client_key = KeyPair::generate().expect("client key");
    let mut client = params("tern test client", &[]);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &ca).expect("client cert");

    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).expect("write PEM");
        path
    };
    TestPki {
        ca: write("ca.pem", ca.pem()),
        cert: write("server.pem", server_cert.pem()),
        key: write("server.key", server_key.serialize_pem()),
        client_cert: write("client.pem", client_cert.pem()),
        client_key: write("client.key", client_key.serialize_pem()),
        ca_der: ca.der().clone(),
        client_cert_der: client_cert.der().clone(),
        client_key_der: client_key.serialize_der(),
        dir,
    }
}

impl TestPki {
    /// A client trusting only the test CA; with `client_auth` it presents the client
    /// certificate. ALPN as given (`http/1.1` for the HTTPS listener, none for MQTT).
    pub fn connector(&self, client_auth: bool, alpn: &[&str]) -> TlsConnector {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("add CA");
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots);
        let mut config = if client_auth {
            let key = PrivateKeyDer::try_from(self.client_key_der.clone()).expect("client key");
            builder
                .with_client_auth_cert(vec![self.client_cert_der.clone()], key)
                .expect("client cert")
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        TlsConnector::from(Arc::new(config))
    }
}

/// `localhost` as the name to verify the server certificate against.
pub fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("server name")
}
