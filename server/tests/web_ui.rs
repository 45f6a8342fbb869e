//! One binary (issue 13): `tern` copied into an empty directory, started there with no
//! `dist/` anywhere near it, serves the page, its JavaScript and its WebAssembly with the right
//! content types and cache headers, precompressed copies, and the broker itself.
//!
//! The UI is embedded when `dist/` was built before `tern` was compiled, which `cargo xtask
//! test` guarantees (and says so with `TERN_REQUIRE_EMBEDDED_UI=1`, so a missing UI fails
//! there). A plain `cargo test` in a checkout without `dist/` checks the other promise: the
//! page then says how to build the UI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A `tern` started from a copy of the binary in its own empty directory.
struct Tern {
    child: Child,
    tcp: SocketAddr,
    http: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Tern {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_copied_binary(args: &[&str]) -> Tern {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("tern");
    std::fs::copy(env!("CARGO_BIN_EXE_tern"), &bin).expect("copy the tern binary");
    let mut child = Command::new(&bin)
        .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the copied tern");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut addr = |prefix: &str| -> SocketAddr {
        let line = lines.next().expect("a startup line").expect("read stdout");
        line.strip_prefix(prefix)
            .and_then(|r| r.split(' ').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected startup line {line:?}"))
    };
    let tcp = addr("tern: mqtt listening on tcp://");
    let http = addr("tern: http listening on http://");
    Tern {
        child,
        tcp,
        http,
        _dir: dir,
    }
}

struct Reply {
    status: u16,
    /// Lower-cased header lines.
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::trim)
        })
    }
}

/// HTTP/1.1 GET with `Connection: close` and extra request headers.
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).expect("connect http");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// The text between `before` and the next `'` or `"` in the page.
fn between<'a>(page: &'a str, before: &str) -> &'a str {
    let start = page
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} not in the page:\n{page}"))
        + before.len();
    let len = page[start..].find(['\'', '"']).expect("closing quote");
    &page[start..start + len]
}

#[test]
fn copied_binary_serves_the_page_js_wasm_and_the_broker() {
    let tern = start_copied_binary(&[]);
    let index = get(tern.http, "/", &[]);
    assert_eq!(index.status, 200, "{}", index.head);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = String::from_utf8_lossy(&index.body).to_string();

    if !tern_server::web_ui::is_embedded() {
        assert!(
            std::env::var_os("TERN_REQUIRE_EMBEDDED_UI").is_none(),
            "this tern was compiled without the web UI (no dist/ when it was built)"
        );
        assert!(page.contains("cargo xtask dist"), "{page}");
        return;
    }

    // index.html: revalidated on every load, so a new build shows at once.
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let etag = index
        .header("etag")
        .expect("index.html has an ETag")
        .to_string();
    let again = get(tern.http, "/", &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304, "{}", again.head);
    assert!(again.body.is_empty());

    let js = between(&page, "import init, * as bindings from '");
    let wasm = between(&page, "module_or_path: '");
    let css = between(&page, "<link rel=\"stylesheet\" href=\"");
    assert!(page.contains(&format!("<link rel=\"modulepreload\" href=\"{js}\"")));

    let reply = get(tern.http, js, &[]);
    assert_eq!(reply.status, 200, "{js}: {}", reply.head);
    assert_eq!(
        reply.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("public, max-age=31536000, immutable"),
        "hashed names never change"
    );
    assert!(String::from_utf8_lossy(&reply.body).contains("WebAssembly"));

    let reply = get(tern.http, wasm, &[]);
    assert_eq!(reply.status, 200, "{wasm}: {}", reply.head);
    assert_eq!(reply.header("content-type"), Some("application/wasm"));
    assert_eq!(
        reply.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(reply.body.starts_with(b"\0asm"), "not a wasm module");
    let raw_len = reply.body.len();

    // What Chromium sends over plain http: gzip, the precompressed copy.
    let gz = get(tern.http, wasm, &[("Accept-Encoding", "gzip, deflate")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"), "{}", gz.head);
    assert_eq!(gz.header("content-type"), Some("application/wasm"));
    assert_eq!(gz.header("vary"), Some("accept-encoding"));
    assert!(gz.body.starts_with(&[0x1f, 0x8b]) && gz.body.len() < raw_len * 3 / 4);
    // Over https it also offers brotli.
    let br = get(
        tern.http,
        wasm,
        &[("Accept-Encoding", "gzip, deflate, br, zstd")],
    );
    assert_eq!(br.header("content-encoding"), Some("br"), "{}", br.head);
    assert!(br.body.len() < gz.body.len());

    let reply = get(tern.http, css, &[]);
    assert_eq!(reply.status, 200, "{css}: {}", reply.head);
    assert_eq!(
        reply.header("content-type"),
        Some("text/css; charset=utf-8")
    );

    // Client-side routes get the page; the broker's own routes still answer.
    let route = get(tern.http, "/some/client/route", &[]);
    assert_eq!((route.status, route.body), (200, index.body));
    assert_eq!(get(tern.http, "/healthz", &[]).body, b"ok");

    // And it is the broker too: MQTT 3.1.1 CONNECT over TCP gets CONNACK accepted.
    let mut mqtt = TcpStream::connect_timeout(&tern.tcp, TIMEOUT).expect("connect mqtt");
    mqtt.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    mqtt.write_all(b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03one")
        .expect("send CONNECT");
    let mut connack = [0u8; 4];
    mqtt.read_exact(&mut connack).expect("CONNACK");
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);
}

#[test]
fn web_root_overrides_the_built_in_ui() {
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::write(root.path().join("index.html"), "<h1>from --web-root</h1>").expect("write");
    std::fs::write(root.path().join("app-0123456789abcdef.js"), "export {}").expect("write");
    let dir: &Path = root.path();
    let tern = start_copied_binary(&["--web-root", dir.to_str().expect("utf-8 path")]);
    let index = get(tern.http, "/", &[]);
    assert_eq!(index.body, b"<h1>from --web-root</h1>");
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let js = get(tern.http, "/app-0123456789abcdef.js", &[]);
    assert_eq!(js.status, 200);
    assert_eq!(js.header("content-type"), Some("text/javascript"));
    assert_eq!(
        js.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
}
