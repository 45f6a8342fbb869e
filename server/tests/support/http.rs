//! A minimal HTTP/1.1 client for the broker's HTTP side (`/healthz`, `/metrics`, the admin
//! API, the web UI): one request per connection (`Connection: close`), the response read to
//! the end within [`DEADLINE`]. Hand-written on purpose: the tests check bytes on the wire
//! (status line, headers, chunked or not) that a full client library would hide.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::DEADLINE;
use super::transport::tls_stream;

/// A response as received.
#[derive(Debug)]
pub struct Response {
    /// The whole response, status line to last byte.
    pub raw: String,
    pub status: u16,
    /// Status line and headers, lower-cased (header names are case-insensitive).
    pub head: String,
    /// The body, de-chunked when sent with `Transfer-Encoding: chunked`.
    pub body: String,
}

/// `method path` with optional `Authorization: Basic <basic>` (base64 of `user:password`).
pub async fn request(addr: SocketAddr, method: &str, path: &str, basic: Option<&str>) -> Response {
    let s = TcpStream::connect(addr).await.expect("connect http");
    exchange(s, &addr.to_string(), method, path, basic).await
}

/// `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, None).await
}

/// `GET path` over TLS, verifying the server as `localhost`; `connector` must offer ALPN
/// `http/1.1`, which the server must select.
pub async fn https_get(addr: SocketAddr, connector: &TlsConnector, path: &str) -> Response {
    let s = tls_stream(addr, connector).await.expect("TLS handshake");
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    exchange(s, "localhost", "GET", path, None).await
}

async fn exchange(
    mut s: impl AsyncRead + AsyncWrite + Unpin,
    host: &str,
    method: &str,
    path: &str,
    basic: Option<&str>,
) -> Response {
    let auth = basic
        .map(|b| format!("Authorization: Basic {b}\r\n"))
        .unwrap_or_default();
    let req =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}\r\n");
    let raw = tokio::time::timeout(DEADLINE, async {
        s.write_all(req.as_bytes()).await.expect("write request");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read response");
        raw
    })
    .await
    .unwrap_or_else(|_| panic!("{method} {path}: no complete response within {DEADLINE:?}"));
    parse(String::from_utf8(raw).expect("utf-8 response"))
}

fn parse(raw: String) -> Response {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {raw:?}"));
    let head = head.to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Response {
        status,
        head,
        body,
        raw,
    }
}

/// Joins the chunks of a chunked body (RFC 9112 section 7.1; no trailers expected).
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").expect("chunk size line");
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = after[size..]
            .strip_prefix("\r\n")
            .expect("CRLF after chunk");
    }
}
