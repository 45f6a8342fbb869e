//! The HTTP side of the broker (issue #3): `/healthz`, static files from `web_root` with an
//! `index.html` fallback, and a helpful page when the UI is not built.

use crate::support::*;

#[tokio::test]
async fn tern_http_healthz() {
    if tern_only("/healthz") {
        return;
    }
    let broker = Broker::target().await;
    let r = http::get(broker.http, "/healthz").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("ok"), "{:?}", r.body);
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
    let broker = Broker::target_with(|c| c.web_root = Some(root)).await;

    let r = http::get(broker.http, "/").await;
    assert_eq!((r.status, r.body.as_str()), (200, "<h1>tern test ui</h1>"));
    assert!(r.head.contains("text/html"), "{}", r.head);
    let r = http::get(broker.http, "/app.js").await;
    assert_eq!((r.status, r.body.as_str()), (200, "console.log('tern')"));
    assert!(r.head.contains("javascript"), "{}", r.head);
    let r = http::get(broker.http, "/assets/style.css").await;
    assert_eq!((r.status, r.body.as_str()), (200, "body{}"));
    let r = http::get(broker.http, "/some/client/route").await;
    assert_eq!(
        (r.status, r.body.as_str()),
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
    let broker = Broker::target_with(|c| c.web_root = Some(root)).await;
    let body = http::get(broker.http, "/").await.body;
    assert!(body.contains("cargo xtask dist"), "{body:?}");
    assert_eq!(http::get(broker.http, "/healthz").await.status, 200);
}
