//! [`Settings::validate`]: the form checked field by field, in words, into a [`Target`].

use bytes::Bytes;
use tern_codec::{TopicName, Version};

use super::{FieldError, Settings, Target};
use crate::mqtt::options::{ConnectOptions, WillOptions};

/// MQTT 3.1 section 3.1 (CONNECT payload): "The Client Identifier (Client ID) is between 1
/// and 23 characters long". Brokers count bytes (Tern and Mosquitto answer return code 2).
pub const V3_1_MAX_CLIENT_ID: usize = 23;

impl Settings {
    /// Checks every field; `page_https` is whether the page itself came over https.
    pub fn validate(&self, page_https: bool) -> Result<Target, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field, message: &str| {
            errors.push(FieldError {
                field,
                message: message.to_owned(),
            });
        };
        let host = self.host.trim();
        if host.is_empty() || host.contains(['/', ' ', '?', '#']) {
            err(
                "host",
                "Enter a host name or IP address, without ws:// or a path.",
            );
        }
        let port = self.port.trim().parse::<u16>().ok().filter(|p| *p > 0);
        if port.is_none() {
            err("port", "The port is a number from 1 to 65535.");
        }
        if self.path.contains([' ', '#', '?']) {
            err("path", "The path cannot contain spaces, '#' or '?'.");
        }
        if page_https && !self.tls {
            err(
                "tls",
                "This page was loaded over https://, so the browser blocks unencrypted ws:// \
                 connections. Tick TLS (wss) or open the page over http://.",
            );
        }
        let keep_alive = self.keep_alive.trim().parse::<u16>().ok();
        if keep_alive.is_none() {
            err(
                "keepalive",
                "Keep Alive is a number of seconds from 0 to 65535.",
            );
        }
        let session_expiry = self.session_expiry.trim().parse::<u32>().ok();
        if session_expiry.is_none() {
            err("session_expiry", "Session expiry is a number of seconds.");
        }
        let id_len = self.client_id.len();
        if self.version == Version::V3_1 && !(1..=V3_1_MAX_CLIENT_ID).contains(&id_len) {
            // MQTT 3.1 section 3.1: 1 to 23 characters, even with Clean Session.
            err(
                "client_id",
                &format!(
                    "MQTT 3.1 needs a Client ID of 1 to {V3_1_MAX_CLIENT_ID} characters \
                     (this one has {id_len} bytes). Press New ID for a short one."
                ),
            );
        } else if self.client_id.is_empty() && !self.clean_session && !self.version.is_v5() {
            // [MQTT-3.1.3-7] (3.1.1): a zero-byte client id requires Clean Session.
            err(
                "client_id",
                "An empty Client ID needs Clean Session in MQTT 3.1.1.",
            );
        }
        if !self.password.is_empty() && self.username.is_empty() && !self.version.is_v5() {
            // [MQTT-3.1.2-22] (3.1.1), and the 3.1 CONNECT flags alike: a password without
            // a user name is not allowed.
            err(
                "username",
                &format!(
                    "MQTT {} needs a user name when a password is given.",
                    self.version
                ),
            );
        }
        let will = if self.will_topic.is_empty() {
            None
        } else {
            match TopicName::new(self.will_topic.as_str()) {
                Ok(topic) => Some(WillOptions {
                    topic,
                    payload: Bytes::copy_from_slice(self.will_message.as_bytes()),
                    qos: self.will_qos,
                    retain: self.will_retain,
                }),
                Err(e) => {
                    err("will_topic", &format!("Last-Will topic: {e}"));
                    None
                }
            }
        };
        let (Some(_), Some(keep_alive), Some(session_expiry), true) =
            (port, keep_alive, session_expiry, errors.is_empty())
        else {
            return Err(errors);
        };
        Ok(Target {
            url: self.ws_url(),
            options: ConnectOptions {
                version: self.version,
                client_id: self.client_id.clone(),
                clean_session: self.clean_session,
                keep_alive,
                username: Some(self.username.clone()).filter(|u| !u.is_empty()),
                password: Some(self.password.clone()).filter(|p| !p.is_empty()),
                will,
                session_expiry,
            },
        })
    }
}
