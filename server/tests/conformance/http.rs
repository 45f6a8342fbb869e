//! The HTTP side of the broker (issue #3): `/healthz`, static files from `web_root` with an
//! `index.html` fallback, and a helpful page when the UI is not built.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

/// A minimal HTTP/1.1 GET (`Connection: close`); returns (status, headers, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.expect("connect http");
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("http timed out");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[tokio::test]
async fn tern_http_healthz() {
    if tern_only("/healthz") {
        return;
    }
    let broker = Broker::start().await;
    let (status, _, body) = get(broker.http, "/healthz").await;
    assert_eq!(status, 200);
    assert!(body.contains("ok"), "{body:?}");
}

/// Files under `web_root` are served; unknown paths fall back to `index.html` (client-side
/// routing); `/` is `index.html`.
#[tokio::test]
async fn tern_http_static_files_with_index_fallback() {
    if tern_only("static files") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<h1>tern test ui</h1>").expect("write");
    std::fs::write(dir.path().join("app.js"), "console.log('tern')").expect("write");
    std::fs::create_dir(dir.path().join("assets")).expect("mkdir");
    std::fs::write(dir.path().join("assets/style.css"), "body{}").expect("write");
    let root = dir.path().to_path_buf();
    let broker = Broker::with(|c| c.web_root = Some(root)).await;

    let (status, head, body) = get(broker.http, "/").await;
    assert_eq!((status, body.as_str()), (200, "<h1>tern test ui</h1>"));
    assert!(head.contains("text/html"), "{head}");
    let (status, head, body) = get(broker.http, "/app.js").await;
    assert_eq!((status, body.as_str()), (200, "console.log('tern')"));
    assert!(head.contains("javascript"), "{head}");
    let (status, _, body) = get(broker.http, "/assets/style.css").await;
    assert_eq!((status, body.as_str()), (200, "body{}"));
    let (status, _, body) = get(broker.http, "/some/client/route").await;
    assert_eq!(
        (status, body.as_str()),
        (200, "<h1>tern test ui</h1>"),
        "index.html fallback"
    );
}

/// Without a built UI, `/` explains how to build it (`cargo xtask dist`).
#[tokio::test]
async fn tern_http_ui_not_built_page() {
    if tern_only("UI placeholder") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let broker = Broker::with(|c| c.web_root = Some(root)).await;
    let (_, _, body) = get(broker.http, "/").await;
    assert!(body.contains("cargo xtask dist"), "{body:?}");
    let (status, _, _) = get(broker.http, "/healthz").await;
    assert_eq!(status, 200);
}
