//! Broker configuration: defaults, the TOML config file and the limits knobs.
//!
//! Keys use Mosquitto's option names where the knob is the same (`max_keepalive`,
//! `max_packet_size`, `max_inflight_messages`, `max_queued_messages`, `max_connections`,
//! `sys_interval`, `max_topic_alias`, `max_qos`, `retain_available`), so an operator can carry
//! settings over from a `mosquitto.conf`. Durations are whole seconds in the file. Security:
//! `allow_anonymous`, `password_file`, `acl_file` (see `auth`). TLS: `certfile`, `keyfile`,
//! `cafile`, `require_certificate` for the `tls` (MQTT) and `https` listeners (see `tls`).
//! Persistence: `persistence`, `persistence_location`, `persistence_file`,
//! `persistence_durability`, `queue_qos0_messages` (see `store::sqlite`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;

/// Largest packet the protocol can express (remaining length 268,435,455 + 5 header bytes,
/// rounded to the limit Mosquitto uses). Used when `max_packet_size` is 0 ("no limit").
pub const PROTOCOL_MAX_PACKET_SIZE: u32 = 268_435_455;

/// Everything the broker can be told. `Default` gives a loopback broker on 1883/8080 with
/// Mosquitto's default limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// MQTT over TCP listener.
    pub tcp: SocketAddr,
    /// HTTP listener: WebSocket on `/mqtt`, web UI everywhere else.
    pub http: SocketAddr,
    /// Directory with a built web UI (`index.html` + assets) to serve instead of the one built
    /// into the binary (development: `trunk serve`'s or `cargo xtask dist`'s `dist/`).
    pub web_root: Option<PathBuf>,
    /// MQTT over TLS listener (conventionally port 8883); off unless set.
    pub tls: Option<SocketAddr>,
    /// HTTPS listener: the HTTP listener's routes over TLS (WebSocket as `wss://.../mqtt`);
    /// off unless set.
    pub https: Option<SocketAddr>,
    /// PEM certificate chain (server certificate first) for the TLS listeners (Mosquitto
    /// `certfile`).
    pub certfile: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) for `certfile` (Mosquitto `keyfile`).
    pub keyfile: Option<PathBuf>,
    /// PEM CA certificates that sign client certificates (Mosquitto `cafile`); used only with
    /// `require_certificate = true`.
    pub cafile: Option<PathBuf>,
    /// Whether TLS clients must present a certificate signed by `cafile` (Mosquitto
    /// `require_certificate`).
    pub require_certificate: bool,
    /// Largest keep alive a client may ask for, in seconds; a v5 client asking for more (or
    /// for 0) is told the Server Keep Alive. 0 = no limit.
    pub max_keepalive: u16,
    /// Largest packet accepted from a client, in bytes (announced to v5 clients as the
    /// Maximum Packet Size). A packet whose fixed header declares more is refused before its
    /// body is read. Default 1 MiB (Mosquitto: unlimited). 0 = protocol maximum (256 MiB).
    pub max_packet_size: u32,
    /// Most levels (`/`-separated) in a topic name or filter (Mosquitto's fixed
    /// `TOPIC_HIERARCHY_LIMIT`, 200). Deeper ones are refused: SUBACK 0x8F / 0x80 per filter,
    /// DISCONNECT 0x90 (v5) or close (3.1.1) for a PUBLISH or will. 0 = no limit.
    pub max_topic_levels: usize,
    /// Outgoing QoS 1/2 messages in flight per client; also advertised as our Receive
    /// Maximum to v5 clients. Mosquitto default 20.
    pub max_inflight_messages: u16,
    /// Messages queued per client beyond the in-flight window (online or offline). Mosquitto
    /// default 1000. When full, QoS 0 messages are dropped first. 0 = no limit.
    pub max_queued_messages: usize,
    /// Bytes (topic + payload) queued per client, beside `max_queued_messages`; whichever is
    /// reached first applies. A message is always queued into an empty queue. Default 8 MiB
    /// (Mosquitto: unlimited). 0 = no limit.
    pub max_queued_bytes: usize,
    /// Subscriptions one session may hold; more are refused per filter with SUBACK 0x97
    /// Quota exceeded (v5) / 0x80 (3.1.1). Default 1000 (EMQX `max_subscriptions`:
    /// unlimited). 0 = no limit.
    pub max_subscriptions: usize,
    /// How long a persistent session whose client does not come back is kept (Mosquitto
    /// `persistent_client_expiration`): 3.1.1 sessions with Clean Session 0, and v5 sessions
    /// asking for longer (a v5 client is told the shorter Session Expiry Interval in
    /// CONNACK). Seconds, or Mosquitto's `"<n>h|d|w|m|y"` (and `"<n>s"`). Default `"7d"`
    /// (Mosquitto: never); `0` = never.
    #[serde(with = "expiration")]
    pub persistent_client_expiration: Option<Duration>,
    /// Concurrent network connections on all listeners together (MQTT over TCP and TLS,
    /// HTTP and HTTPS, WebSocket sessions included). -1 = as many as the process's
    /// file-descriptor limit allows, less a reserve for files (the soft limit is raised to
    /// the hard one at start).
    pub max_connections: i64,
    /// Browser origins allowed to open the MQTT WebSocket besides the page's own (every
    /// `http`/`https` listener address, and `localhost`/loopback forms), e.g.
    /// `["https://app.example"]`; `"*"` allows any. Requests without an `Origin` header
    /// (non-browser clients) are always allowed. Others get HTTP 403: a page on another site
    /// must not use a visitor's access to this broker (cross-site WebSocket hijacking).
    pub allowed_origins: Vec<String>,
    /// Seconds an HTTP(S) connection may stay idle (no request in progress) before it is
    /// closed; a request's header must arrive within `connect_timeout`.
    #[serde(with = "secs")]
    pub http_idle_timeout: Duration,
    /// `/metrics` requires HTTP Basic credentials from the `password_file`.
    pub metrics_auth: bool,
    /// The admin API (`/api/v1/...`; see `admin/`). Default on: without a `password_file`
    /// it only answers loopback clients.
    pub admin_api: bool,
    /// Users of the `password_file` who may use the admin API.
    pub admin_users: Vec<String>,
    /// Clustering over NATS (see `cluster`); `None` (no `[cluster]` table): a single broker.
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// Seconds between `$SYS` updates; 0 disables `$SYS`.
    #[serde(with = "secs")]
    pub sys_interval: Duration,
    /// Topic aliases a v5 client may use towards us. Mosquitto default 10.
    pub max_topic_alias: u16,
    /// Highest QoS we grant and accept (Mosquitto `max_qos`).
    pub max_qos: u8,
    /// Whether retained messages are supported (Mosquitto `retain_available`).
    pub retain_available: bool,
    /// Whether a client may connect with a zero-length client id (Mosquitto
    /// `allow_zero_length_clientid`); when allowed the broker assigns one.
    pub allow_zero_length_clientid: bool,
    /// Whether clients without a user name may connect (Mosquitto `allow_anonymous`).
    /// Unset: `true` without a `password_file`, `false` with one (setting a password file
    /// locks the broker down; set it to `true` explicitly to let anonymous clients in too).
    pub allow_anonymous: Option<bool>,
    /// Mosquitto password file (`mosquitto_passwd`): `user:$7$...` / `user:$6$...` lines.
    pub password_file: Option<PathBuf>,
    /// Mosquitto ACL file: `user`, `topic`, `pattern` lines. When set, everything it does
    /// not grant is denied.
    pub acl_file: Option<PathBuf>,
    /// How long a new connection has to send CONNECT.
    #[serde(with = "secs")]
    pub connect_timeout: Duration,
    /// Upper bound for graceful shutdown before remaining sessions are dropped.
    #[serde(with = "secs")]
    pub shutdown_timeout: Duration,
    /// Keep retained messages and persistent sessions (subscriptions, queued and in-flight
    /// messages, QoS 2 state, wills) in a database, committed before they are acknowledged,
    /// and load it at start (Mosquitto `persistence`; see `store::sqlite`).
    pub persistence: bool,
    /// `"full"` (default): every commit is fsynced, acknowledged data survives a power cut.
    /// `"relaxed"`: no fsync per commit; survives the broker being killed, not the machine
    /// losing power.
    pub persistence_durability: crate::store::Durability,
    /// Queue QoS 0 messages for offline persistent sessions too (Mosquitto
    /// `queue_qos0_messages`, default false).
    pub queue_qos0_messages: bool,
    /// Directory of the database (Mosquitto `persistence_location`); unset = the current
    /// directory, as in Mosquitto.
    pub persistence_location: Option<PathBuf>,
    /// File name of the database (Mosquitto `persistence_file`). A snapshot file of the
    /// earlier format found there is imported once.
    pub persistence_file: PathBuf,
    /// Accepted for Mosquitto compatibility and ignored: every change is committed as it
    /// happens, there is nothing to autosave.
    pub autosave_interval: u64,
    /// Accepted and ignored, as `autosave_interval`.
    pub autosave_on_changes: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tcp: SocketAddr::from(([127, 0, 0, 1], 1883)),
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            web_root: None,
            tls: None,
            https: None,
            certfile: None,
            keyfile: None,
            cafile: None,
            require_certificate: false,
            max_keepalive: 65535,
            max_packet_size: 1024 * 1024,
            max_topic_levels: 200,
            max_inflight_messages: 20,
            max_queued_messages: 1000,
            max_queued_bytes: 8 * 1024 * 1024,
            max_subscriptions: 1000,
            persistent_client_expiration: Some(Duration::from_secs(7 * 24 * 3600)),
            max_connections: -1,
            allowed_origins: Vec::new(),
            http_idle_timeout: Duration::from_secs(60),
            metrics_auth: false,
            admin_api: true,
            admin_users: Vec::new(),
            cluster: None,
            sys_interval: Duration::from_secs(10),
            max_topic_alias: 10,
            max_qos: 2,
            retain_available: true,
            allow_zero_length_clientid: true,
            allow_anonymous: None,
            password_file: None,
            acl_file: None,
            connect_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(5),
            persistence: false,
            persistence_durability: crate::store::Durability::Full,
            queue_qos0_messages: false,
            persistence_location: None,
            persistence_file: PathBuf::from("tern.db"),
            autosave_interval: 1800,
            autosave_on_changes: false,
        }
    }
}

impl Config {
    /// Reads a TOML file; missing keys keep their defaults, unknown keys are an error (a
    /// typo in a limit must not silently fall back to the default).
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text).map_err(|e| match e {
            Error::ConfigParse { message, .. } => Error::ConfigParse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text (see [`Config::from_toml_file`]).
    pub fn from_toml_str(text: &str) -> Result<Config, Error> {
        let config: Config = toml::from_str(text).map_err(|e| Error::ConfigParse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects values the broker cannot run with.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |message: &str| Err(Error::ConfigInvalid(message.to_owned()));
        if self.max_qos > 2 {
            return bad("max_qos must be 0, 1 or 2");
        }
        if self.max_inflight_messages == 0 {
            return bad("max_inflight_messages must be at least 1");
        }
        if self.max_packet_size != 0 && self.max_packet_size < 20 {
            return bad("max_packet_size must be 0 (no limit) or at least 20 bytes");
        }
        if self.max_connections == 0 || self.max_connections < -1 {
            return bad("max_connections must be -1 (no limit) or positive");
        }
        for origin in &self.allowed_origins {
            if origin != "*" && crate::http::origin::parse(origin).is_none() {
                return Err(Error::ConfigInvalid(format!(
                    "allowed_origins: {origin:?} is not an origin like \"https://host:port\" or \"*\""
                )));
            }
        }
        if self.metrics_auth && self.password_file.is_none() {
            return bad("metrics_auth needs a password_file");
        }
        if let Some(c) = &self.cluster {
            c.validate().map_err(Error::ConfigInvalid)?;
            if self.persistence {
                // JetStream keeps sessions and retained messages of a cluster, replicated;
                // a node-local database would disagree with it after a takeover.
                return bad(
                    "persistence = true and [cluster] exclude each other: in a cluster, \
                     NATS JetStream keeps sessions and retained messages",
                );
            }
        }
        Ok(())
    }

    /// The packet size limit actually enforced.
    pub fn effective_max_packet_size(&self) -> u32 {
        match self.max_packet_size {
            0 => PROTOCOL_MAX_PACKET_SIZE,
            n => n.min(PROTOCOL_MAX_PACKET_SIZE),
        }
    }

    /// `max_connections` as a permit count for the connection semaphore; -1 is derived from
    /// the file-descriptor limit (see `limits::fd_connection_budget`).
    pub fn connection_permits(&self) -> usize {
        usize::try_from(self.max_connections)
            .unwrap_or_else(|_| crate::limits::fd_connection_budget())
            .min(tokio::sync::Semaphore::MAX_PERMITS)
    }

    /// The Session Expiry Interval actually granted for a requested one (seconds), capped
    /// by `persistent_client_expiration`; 0 stays 0.
    pub fn granted_session_expiry(&self, requested: u32) -> u32 {
        match self.persistent_client_expiration {
            Some(cap) if requested > 0 => {
                requested.min(u32::try_from(cap.as_secs()).unwrap_or(u32::MAX))
            }
            _ => requested,
        }
    }

    /// `allow_anonymous` with its default applied (see the field).
    pub fn effective_allow_anonymous(&self) -> bool {
        self.allow_anonymous.unwrap_or(self.password_file.is_none())
    }

    /// Full path of the database (`persistence_location` / `persistence_file`).
    pub fn persistence_path(&self) -> PathBuf {
        match &self.persistence_location {
            Some(dir) => dir.join(&self.persistence_file),
            None => self.persistence_file.clone(),
        }
    }

    /// Highest QoS we grant, as the codec type.
    pub fn max_qos(&self) -> tern_codec::QoS {
        tern_codec::QoS::try_from(self.max_qos).unwrap_or(tern_codec::QoS::ExactlyOnce)
    }
}

/// `persistent_client_expiration`: whole seconds, or Mosquitto's duration text (`"2h"`,
/// `"7d"`, `"1w"`, `"1m"` = 30 days, `"1y"` = 365 days; `"30s"` as an extension); 0 = never.
mod expiration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let secs = match Raw::deserialize(d)? {
            Raw::Secs(n) => n,
            Raw::Text(t) => parse(&t).ok_or_else(|| {
                D::Error::custom(format!(
                    "persistent_client_expiration {t:?}: expected seconds or <n> followed by s, h, d, w, m or y"
                ))
            })?,
        };
        Ok((secs > 0).then(|| Duration::from_secs(secs)))
    }

    pub fn parse(t: &str) -> Option<u64> {
        let t = t.trim();
        let unit = match t.chars().last()? {
            's' => 1,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            'm' => 30 * 86_400,
            'y' => 365 * 86_400,
            _ => return t.parse().ok(),
        };
        let n: u64 = t[..t.len() - 1].parse().ok()?;
        n.checked_mul(unit)
    }
}

/// `message_retention`: like `persistent_client_expiration` but never "off".
pub(crate) mod expiration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = match Raw::deserialize(d)? {
            Raw::Secs(n) => n,
            Raw::Text(t) => super::expiration::parse(&t).ok_or_else(|| {
                D::Error::custom(format!(
                    "{t:?}: expected seconds or <n> followed by s, h, d, w, m or y"
                ))
            })?,
        };
        Ok(Duration::from_secs(secs))
    }
}

/// `Duration` as whole seconds in the config file.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mosquitto_names_override_defaults() {
        let c = Config::from_toml_str(
            "max_keepalive = 60\nsys_interval = 3\nmax_queued_messages = 5\ntcp = \"127.0.0.1:0\"\n",
        )
        .unwrap();
        assert_eq!(c.max_keepalive, 60);
        assert_eq!(c.sys_interval, Duration::from_secs(3));
        assert_eq!(c.max_queued_messages, 5);
        assert_eq!(c.tcp.port(), 0);
        assert_eq!(c.max_inflight_messages, 20);
    }

    #[test]
    fn allow_anonymous_defaults_to_false_once_a_password_file_is_set() {
        assert!(Config::default().effective_allow_anonymous());
        let c = Config::from_toml_str("password_file = \"/etc/mosquitto/passwd\"\n").unwrap();
        assert!(!c.effective_allow_anonymous());
        let c = Config::from_toml_str(
            "password_file = \"p\"\nallow_anonymous = true\nacl_file = \"a\"\n",
        )
        .unwrap();
        assert!(c.effective_allow_anonymous());
        assert_eq!(c.acl_file, Some(PathBuf::from("a")));
        let c = Config::from_toml_str("allow_anonymous = false\n").unwrap();
        assert!(!c.effective_allow_anonymous());
    }

    #[test]
    fn persistence_keys_use_mosquitto_names() {
        let c = Config::default();
        assert!(!c.persistence);
        assert_eq!(c.autosave_interval, 1800);
        assert_eq!(c.persistence_path(), PathBuf::from("tern.db"));
        let c = Config::from_toml_str(
            "persistence = true\npersistence_location = \"/var/lib/tern\"\n\
             persistence_file = \"b.db\"\nautosave_interval = 0\nautosave_on_changes = true\n",
        )
        .unwrap();
        assert!(c.persistence && c.autosave_on_changes);
        assert_eq!(c.autosave_interval, 0);
        assert_eq!(c.persistence_path(), PathBuf::from("/var/lib/tern/b.db"));
    }

    #[test]
    fn tls_keys_use_mosquitto_names() {
        let c = Config::from_toml_str(
            "tls = \"0.0.0.0:8883\"\nhttps = \"0.0.0.0:8443\"\ncertfile = \"c.pem\"\n\
             keyfile = \"k.pem\"\ncafile = \"ca.pem\"\nrequire_certificate = true\n",
        )
        .unwrap();
        assert_eq!(c.tls, Some(SocketAddr::from(([0, 0, 0, 0], 8883))));
        assert_eq!(c.https, Some(SocketAddr::from(([0, 0, 0, 0], 8443))));
        assert_eq!(c.certfile, Some(PathBuf::from("c.pem")));
        assert_eq!(c.keyfile, Some(PathBuf::from("k.pem")));
        assert_eq!(c.cafile, Some(PathBuf::from("ca.pem")));
        assert!(c.require_certificate);
        let d = Config::default();
        assert_eq!((d.tls, d.https, d.require_certificate), (None, None, false));
    }

    #[test]
    fn cluster_table_and_its_checks() {
        assert_eq!(Config::default().cluster, None);
        let c = Config::from_toml_str(
            "[cluster]\nnode_id = \"a\"\nnats = [\"nats://h1:4222\", \"nats://h2:4222\", \"nats://h3:4222\"]\n",
        )
        .unwrap();
        let cl = c.cluster.unwrap();
        assert_eq!((cl.node_id.as_str(), cl.nats.len()), ("a", 3));
        assert_eq!(cl.effective_replicas(), 3, "three URLs: R3 by default");
        assert_eq!(cl.node_timeout, Duration::from_secs(3));
        assert_eq!(cl.message_retention, Duration::from_secs(7 * 86_400));
        let one = Config::from_toml_str("[cluster]\nnode_id = \"b\"\nmessage_retention = \"2h\"\n")
            .unwrap()
            .cluster
            .unwrap();
        assert_eq!(one.nats, vec!["nats://127.0.0.1:4222".to_owned()]);
        assert_eq!(one.effective_replicas(), 1);
        assert_eq!(one.message_retention, Duration::from_secs(7200));
        for bad in [
            "[cluster]\nnode_id = \"\"\n",
            "[cluster]\nnode_id = \"a.b\"\n",
            "[cluster]\nnode_id = \"a\"\nreplicas = 7\n",
            "[cluster]\nnode_id = \"a\"\nnats = []\n",
            "[cluster]\nnode_id = \"a\"\nnodeid = 1\n",
            "persistence = true\n[cluster]\nnode_id = \"a\"\n",
        ] {
            assert!(Config::from_toml_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_key_is_an_error() {
        assert!(Config::from_toml_str("max_keepalvie = 60").is_err());
    }

    #[test]
    fn invalid_values_are_rejected() {
        assert!(Config::from_toml_str("max_qos = 3").is_err());
        assert!(Config::from_toml_str("max_connections = 0").is_err());
        // -1: as many as the file-descriptor limit allows (less a reserve).
        assert_eq!(
            Config::from_toml_str("max_connections = -1")
                .unwrap()
                .connection_permits(),
            crate::limits::fd_connection_budget()
        );
        assert!(Config::from_toml_str("allowed_origins = [\"evil\"]").is_err());
        assert!(
            Config::from_toml_str("metrics_auth = true").is_err(),
            "needs a password_file"
        );
    }

    #[test]
    fn limit_keys_and_their_defaults() {
        let d = Config::default();
        assert_eq!(d.max_packet_size, 1024 * 1024);
        assert_eq!(d.max_topic_levels, 200);
        assert_eq!((d.max_queued_bytes, d.max_subscriptions), (8 << 20, 1000));
        assert_eq!(
            d.persistent_client_expiration,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(d.http_idle_timeout, Duration::from_secs(60));
        let c = Config::from_toml_str(
            "max_topic_levels = 0\nmax_queued_bytes = 0\npersistent_client_expiration = \"2h\"\n\
             allowed_origins = [\"https://app.example\", \"*\"]\n",
        )
        .unwrap();
        assert_eq!((c.max_topic_levels, c.max_queued_bytes), (0, 0));
        assert_eq!(
            c.persistent_client_expiration,
            Some(Duration::from_secs(7200))
        );
        for (text, secs) in [
            ("\"1w\"", Some(604_800)),
            ("\"1y\"", Some(31_536_000)),
            ("90", Some(90)),
            ("0", None),
        ] {
            let c =
                Config::from_toml_str(&format!("persistent_client_expiration = {text}")).unwrap();
            assert_eq!(
                c.persistent_client_expiration,
                secs.map(Duration::from_secs),
                "{text}"
            );
        }
        assert!(Config::from_toml_str("persistent_client_expiration = \"3x\"").is_err());
        // A v5 session asking for "never" gets the cap; 0 stays 0.
        assert_eq!(c.granted_session_expiry(u32::MAX), 7200);
        assert_eq!(c.granted_session_expiry(60), 60);
        assert_eq!(c.granted_session_expiry(0), 0);
    }
}
