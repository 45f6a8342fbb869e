//! The byte streams a [`super::Client`] speaks MQTT over: TCP, WebSocket (`/mqtt`, binary
//! frames), TLS, and WebSocket over TLS. Everything above this file is the same for all
//! four, so a test that passes over TCP means the same over the others.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::certs;

pub type TlsTcp = tokio_rustls::client::TlsStream<TcpStream>;

pub(super) enum Io {
    Tcp(TcpStream),
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
    Tls(Box<TlsTcp>),
    Wss(Box<WebSocketStream<TlsTcp>>),
}

/// What one read produced.
pub(super) enum Read {
    /// Bytes were appended to the buffer.
    Data,
    /// The peer closed (EOF, reset, or WebSocket close).
    Closed,
    /// A WebSocket text frame, which MQTT forbids ([MQTT-6.0.0-1]).
    Text(String),
}

/// TCP connection + TLS handshake verifying the server as `localhost`.
pub async fn tls_stream(addr: SocketAddr, connector: &TlsConnector) -> std::io::Result<TlsTcp> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    connector.connect(certs::localhost(), s).await
}

/// A WebSocket upgrade request for `url` offering `subprotocols` (comma-separated).
pub(super) fn ws_request(url: &str, subprotocols: &str) -> Request {
    let mut req = url.into_client_request().expect("ws url");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(subprotocols).expect("header"),
    );
    req
}

/// The subprotocol the server selected, if any.
pub(super) fn selected_subprotocol(
    resp: &tokio_tungstenite::tungstenite::handshake::client::Response,
) -> Option<String> {
    resp.headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl Io {
    /// Writes bytes as they are (TCP, TLS) or as one binary frame (WebSocket). Write errors
    /// are ignored: the server may already have closed, which the next read reports.
    pub(super) async fn write(&mut self, bytes: &[u8]) {
        match self {
            Io::Tcp(s) => {
                let _ = s.write_all(bytes).await;
            }
            Io::Tls(s) => {
                let _ = s.write_all(bytes).await;
                let _ = s.flush().await;
            }
            Io::Ws(ws) => {
                let _ = ws
                    .send(Message::binary(Bytes::copy_from_slice(bytes)))
                    .await;
            }
            Io::Wss(ws) => {
                let _ = ws
                    .send(Message::binary(Bytes::copy_from_slice(bytes)))
                    .await;
            }
        }
    }

    /// Sends one WebSocket message of any kind; `false` on a stream that is not WebSocket.
    pub(super) async fn send_ws(&mut self, msg: Message) -> bool {
        match self {
            Io::Ws(ws) => {
                let _ = ws.send(msg).await;
                true
            }
            Io::Wss(ws) => {
                let _ = ws.send(msg).await;
                true
            }
            Io::Tcp(_) | Io::Tls(_) => false,
        }
    }

    /// Reads what is available into `rx`.
    pub(super) async fn read(&mut self, rx: &mut BytesMut) -> Read {
        match self {
            Io::Tcp(s) => read_stream(s, rx).await,
            Io::Tls(s) => read_stream(s, rx).await,
            Io::Ws(ws) => read_ws(ws, rx).await,
            Io::Wss(ws) => read_ws(ws, rx).await,
        }
    }

    /// Closes our sending direction: TCP FIN, TLS close_notify, WebSocket Close frame.
    pub(super) async fn shutdown_write(&mut self) {
        match self {
            Io::Tcp(s) => {
                let _ = s.shutdown().await;
            }
            Io::Tls(s) => {
                let _ = s.shutdown().await;
            }
            Io::Ws(ws) => {
                let _ = SinkExt::close(ws).await;
            }
            Io::Wss(ws) => {
                let _ = SinkExt::close(ws).await;
            }
        }
    }

    /// The local address of a TCP or TLS connection.
    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Io::Tcp(s) => s.local_addr().ok(),
            Io::Tls(s) => s.get_ref().0.local_addr().ok(),
            Io::Ws(_) | Io::Wss(_) => None,
        }
    }
}

async fn read_stream(s: &mut (impl AsyncRead + Unpin), rx: &mut BytesMut) -> Read {
    let mut chunk = [0u8; 8192];
    match s.read(&mut chunk).await {
        Ok(0) | Err(_) => Read::Closed,
        Ok(n) => {
            rx.extend_from_slice(&chunk[..n]);
            Read::Data
        }
    }
}

async fn read_ws<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    rx: &mut BytesMut,
) -> Read {
    loop {
        match ws.next().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Read::Closed,
            Some(Ok(Message::Binary(b))) => {
                rx.extend_from_slice(&b);
                return Read::Data;
            }
            Some(Ok(Message::Text(t))) => return Read::Text(t.to_string()),
            Some(Ok(_)) => {} // ping/pong, answered by tungstenite
        }
    }
}

/// Reads a raw socket (one that is not MQTT yet: an HTTP connection, a TLS handshake) until
/// the peer closes it (EOF or reset); returns what it sent first. Panics if it is still
/// open after `within`.
pub async fn read_until_closed(s: &mut (impl AsyncRead + Unpin), within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("connection still open after {within:?}"));
    got
}
