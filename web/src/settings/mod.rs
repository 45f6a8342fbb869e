//! The connection form's model. Defaults come from the page's own location (so the page the
//! broker serves connects with one click), then localStorage, then URL parameters (so a
//! teacher can share one link). Validation turns it into [`ConnectOptions`].

pub mod query;
mod validate;

use tern_codec::{QoS, TopicFilter, TopicName, Version};

use crate::mqtt::options::ConnectOptions;
use crate::state::messages::DEFAULT_CAPACITY;

/// Where the page itself was loaded from (`window.location`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageLocation {
    pub https: bool,
    pub hostname: String,
    /// Empty when the URL has no explicit port.
    pub port: String,
}

/// A subscription to make on connect (from a shared link or the last visit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubSetting {
    pub filter: String,
    pub qos: QoS,
    pub color: Option<String>,
}

/// Form fields. Numbers stay text while being edited; [`Settings::validate`] parses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub host: String,
    pub port: String,
    pub path: String,
    pub tls: bool,
    pub client_id: String,
    pub username: String,
    pub password: String,
    pub remember_password: bool,
    pub keep_alive: String,
    pub clean_session: bool,
    pub version: Version,
    /// MQTT 5 Session Expiry Interval (seconds), used when the session is not clean.
    pub session_expiry: String,
    pub will_topic: String,
    pub will_qos: QoS,
    pub will_retain: bool,
    pub will_message: String,
    pub max_messages: String,
    pub publish_topic: String,
    pub subs: Vec<SubSetting>,
    /// `?connect=1`: connect as soon as the page opens (never stored).
    pub auto_connect: bool,
}

/// A field that failed validation, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// A validated form: where to connect and what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub options: ConnectOptions,
}

impl Settings {
    pub fn defaults(page: &PageLocation, client_id: String) -> Settings {
        let host = if page.hostname.is_empty() {
            "localhost".to_owned() // a file:// page has no host
        } else {
            page.hostname.clone()
        };
        let port = if page.port.is_empty() {
            if page.https { "443" } else { "80" }.to_owned()
        } else {
            page.port.clone()
        };
        Settings {
            host,
            port,
            path: "/mqtt".into(),
            tls: page.https,
            client_id,
            username: String::new(),
            password: String::new(),
            remember_password: false,
            keep_alive: "60".into(),
            clean_session: true,
            version: Version::V3_1_1,
            session_expiry: "300".into(),
            will_topic: String::new(),
            will_qos: QoS::AtMostOnce,
            will_retain: false,
            will_message: String::new(),
            max_messages: DEFAULT_CAPACITY.to_string(),
            publish_topic: String::new(),
            subs: Vec::new(),
            auto_connect: false,
        }
    }

    /// Applies `key=value` pairs (stored record or URL parameters). Unknown keys and
    /// unparsable values are ignored; `sub` entries replace the subscription list.
    pub fn apply(&mut self, pairs: &[(String, String)]) {
        let mut subs: Vec<SubSetting> = Vec::new();
        let (mut sub_qos, mut sub_color) = (Vec::new(), Vec::new());
        for (k, v) in pairs {
            let v = v.as_str();
            match k.as_str() {
                "host" => self.host = v.into(),
                "port" => self.port = v.into(),
                "path" => self.path = v.into(),
                "tls" => self.tls = flag(v),
                "client_id" => self.client_id = v.into(),
                "username" => self.username = v.into(),
                "password" => self.password = v.into(),
                "remember_password" => self.remember_password = flag(v),
                "keepalive" => self.keep_alive = v.into(),
                "clean" => self.clean_session = flag(v),
                "version" => self.version = parse_version(v).unwrap_or(self.version),
                "session_expiry" => self.session_expiry = v.into(),
                "will_topic" => self.will_topic = v.into(),
                "will_qos" => self.will_qos = parse_qos(v).unwrap_or(self.will_qos),
                "will_retain" => self.will_retain = flag(v),
                "will_message" => self.will_message = v.into(),
                // An empty or non-numeric `max` keeps the default rather than one message.
                "max" if v.trim().parse::<usize>().is_ok_and(|n| n > 0) => {
                    self.max_messages = v.trim().into();
                }
                "topic" => self.publish_topic = v.into(),
                "connect" => self.auto_connect = flag(v),
                "sub" => subs.push(SubSetting {
                    filter: v.into(),
                    qos: QoS::AtMostOnce,
                    color: None,
                }),
                "sub_qos" => sub_qos.push(parse_qos(v)),
                "sub_color" => sub_color.push(Some(v).filter(|c| is_hex_color(c))),
                _ => {}
            }
        }
        if !subs.is_empty() {
            for (i, s) in subs.iter_mut().enumerate() {
                s.qos = sub_qos.get(i).copied().flatten().unwrap_or(QoS::AtMostOnce);
                s.color = sub_color.get(i).cloned().flatten().map(str::to_owned);
            }
            self.subs = subs;
        }
    }

    /// The record kept in localStorage. The password only when the user asked for it.
    pub fn to_stored(&self) -> String {
        let version = version_str(self.version);
        let mut pairs: Vec<(&str, &str)> = vec![
            ("host", &self.host),
            ("port", &self.port),
            ("path", &self.path),
            ("tls", bool_str(self.tls)),
            ("client_id", &self.client_id),
            ("username", &self.username),
            ("remember_password", bool_str(self.remember_password)),
            ("keepalive", &self.keep_alive),
            ("clean", bool_str(self.clean_session)),
            ("version", version),
            ("session_expiry", &self.session_expiry),
            ("will_topic", &self.will_topic),
            ("will_qos", qos_str(self.will_qos)),
            ("will_retain", bool_str(self.will_retain)),
            ("will_message", &self.will_message),
            ("max", &self.max_messages),
            ("topic", &self.publish_topic),
        ];
        if self.remember_password {
            pairs.push(("password", &self.password));
        }
        for s in &self.subs {
            pairs.push(("sub", &s.filter));
            pairs.push(("sub_qos", qos_str(s.qos)));
            pairs.push(("sub_color", s.color.as_deref().unwrap_or("")));
        }
        query::build(pairs)
    }

    /// URL parameters that open this page connected to the same broker with the same
    /// subscriptions, each with its QoS — never the password (nor the user name or client
    /// id: each student brings their own).
    pub fn share_query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("host", &self.host),
            ("port", &self.port),
            ("path", &self.path),
            ("tls", bool_str(self.tls)),
            ("version", version_str(self.version)),
        ];
        for s in &self.subs {
            pairs.push(("sub", s.filter.as_str()));
            pairs.push(("sub_qos", qos_str(s.qos)));
        }
        pairs.push(("connect", "1"));
        query::build(pairs)
    }

    /// The messages kept, from `max_messages` (the default when it is not a number).
    pub fn capacity(&self) -> usize {
        self.max_messages
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_CAPACITY)
    }

    /// `ws://host:port/path` (IPv6 literals in brackets).
    pub fn ws_url(&self) -> String {
        let host = self.host.trim();
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let path = self.path.trim();
        let slash = if path.starts_with('/') { "" } else { "/" };
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{host}:{}{slash}{path}", self.port.trim())
    }
}

/// Checks a topic name for the Publish form, in words.
pub fn check_topic_name(topic: &str) -> Result<TopicName, String> {
    if topic.is_empty() {
        return Err("Enter a topic to publish to.".into());
    }
    if topic.contains(['+', '#']) {
        // [MQTT-4.7.1-1]: wildcards are for filters only.
        return Err(
            "Wildcards (+ and #) are only allowed when subscribing, not in a topic name.".into(),
        );
    }
    TopicName::new(topic).map_err(|e| e.to_string())
}

/// Checks a topic filter for the Subscriptions form, in words.
pub fn check_topic_filter(filter: &str) -> Result<TopicFilter, String> {
    if filter.is_empty() {
        return Err("Enter a topic filter, for example sensors/#.".into());
    }
    TopicFilter::new(filter).map_err(|e| {
        format!("{e}. '#' must be the last level on its own; '+' must fill a whole level.")
    })
}

/// `tern-` and eight random letters/digits; `rand` yields numbers in `[0, 1)`.
pub fn random_client_id(mut rand: impl FnMut() -> f64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::from("tern-");
    for _ in 0..8 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped index
        let i = ((rand() * ALPHABET.len() as f64) as usize).min(ALPHABET.len() - 1);
        id.push(char::from(ALPHABET[i]));
    }
    id
}

fn flag(v: &str) -> bool {
    matches!(v, "" | "1" | "true" | "yes" | "on")
}

fn bool_str(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

pub fn parse_qos(v: &str) -> Option<QoS> {
    v.trim()
        .parse::<u8>()
        .ok()
        .and_then(|n| QoS::try_from(n).ok())
}

pub fn qos_str(q: QoS) -> &'static str {
    match q {
        QoS::AtMostOnce => "0",
        QoS::AtLeastOnce => "1",
        QoS::ExactlyOnce => "2",
    }
}

pub fn parse_version(v: &str) -> Option<Version> {
    match v.trim() {
        "3.1" | "3" | "31" => Some(Version::V3_1),
        "3.1.1" | "4" | "311" => Some(Version::V3_1_1),
        "5" | "5.0" => Some(Version::V5),
        _ => None,
    }
}

pub fn version_str(v: Version) -> &'static str {
    match v {
        Version::V3_1 => "3.1",
        Version::V3_1_1 => "3.1.1",
        Version::V5 => "5",
    }
}

fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
