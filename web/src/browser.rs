//! The few browser facts the app needs: where the page came from, storage, clock, randomness.
//! Thin on purpose; everything it returns is plain data handled by tested code.

use crate::settings::PageLocation;

const SETTINGS_KEY: &str = "tern-web.settings";
/// Client ids live in sessionStorage: a reload keeps the id (and so a persistent session),
/// while a second tab gets its own id instead of taking the first tab's session over.
const CLIENT_ID_KEY: &str = "tern-web.client-id";
const PROFILES_KEY: &str = "tern-web.profiles";

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn page_location() -> PageLocation {
    let Some(loc) = window().map(|w| w.location()) else {
        return PageLocation::default();
    };
    PageLocation {
        https: loc.protocol().is_ok_and(|p| p == "https:"),
        hostname: loc.hostname().unwrap_or_default(),
        port: loc.port().unwrap_or_default(),
    }
}

/// `?a=b…` of the page URL.
pub fn query_string() -> String {
    window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// The page URL without its query string, for share links.
pub fn page_base() -> String {
    window()
        .and_then(|w| {
            let loc = w.location();
            Some(format!("{}{}", loc.origin().ok()?, loc.pathname().ok()?))
        })
        .unwrap_or_default()
}

fn local() -> Option<web_sys::Storage> {
    window()?.local_storage().ok().flatten()
}

fn session() -> Option<web_sys::Storage> {
    window()?.session_storage().ok().flatten()
}

pub fn load_settings() -> Option<String> {
    local()?.get_item(SETTINGS_KEY).ok().flatten()
}

/// Storage can be full or disabled (private mode); settings then just are not remembered.
pub fn save_settings(record: &str) {
    if let Some(s) = local() {
        let _ = s.set_item(SETTINGS_KEY, record);
    }
}

pub fn load_client_id() -> Option<String> {
    session()?.get_item(CLIENT_ID_KEY).ok().flatten()
}

pub fn save_client_id(id: &str) {
    if let Some(s) = session() {
        let _ = s.set_item(CLIENT_ID_KEY, id);
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a positive timestamp
    let ms = js_sys::Date::now() as u64;
    ms
}

/// A number in [0, 1).
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Minutes to add to local time to get UTC.
pub fn tz_offset_minutes() -> i64 {
    #[allow(clippy::cast_possible_truncation)] // whole minutes, within ±14 h
    let m = js_sys::Date::new_0().get_timezone_offset() as i64;
    m
}

/// Moves keyboard focus to the element with this id, if it exists.
pub fn focus(id: &str) {
    use wasm_bindgen::JsCast;
    if let Some(el) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Offers `content` as a file download named `name`.
pub fn download(name: &str, mime: &str, content: &str) {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(content));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// The text of the first file chosen in a file input.
pub async fn read_file(input: &web_sys::HtmlInputElement) -> Result<String, String> {
    let file = input
        .files()
        .and_then(|f| f.get(0))
        .ok_or("Choose a file first.")?;
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .map_err(|_| "The file could not be read.".to_owned())?;
    text.as_string()
        .ok_or_else(|| "The file is not text.".to_owned())
}

pub fn load_profiles() -> Option<String> {
    local()?.get_item(PROFILES_KEY).ok().flatten()
}

pub fn save_profiles(json: &str) {
    if let Some(s) = local() {
        let _ = s.set_item(PROFILES_KEY, json);
    }
}
