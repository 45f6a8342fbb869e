//! Files the page writes and reads: the message log and the protocol trace as JSON Lines
//! and CSV, and a JSON Lines file of messages read back for replay.
//!
//! A message line: `{"timestamp":1712345678901,"topic":"a/b","qos":1,"retain":false,
//! "payload":"21.5","encoding":"utf-8","properties":{…}}` — `encoding` is `base64` for
//! payloads that are not UTF-8; `properties` (MQTT 5) only when the message had any.

use std::fmt::Write;

use bytes::Bytes;
use tern_codec::{Props, PublishProperties, QoS, TopicName};

use super::base64;
use super::trace::TraceEntry;
use super::trace::summary::summarize;
use super::value::{self, Value, write_str};
use crate::state::messages::Message;

/// Lines read from a file at most.
pub const MAX_LINES: usize = 100_000;

fn payload_fields(out: &mut String, payload: &[u8]) {
    match std::str::from_utf8(payload) {
        Ok(s) => {
            out.push_str(r#","payload":"#);
            write_str(out, s);
            out.push_str(r#","encoding":"utf-8""#);
        }
        Err(_) => {
            let _ = write!(
                out,
                r#","payload":"{}","encoding":"base64""#,
                base64::encode(payload)
            );
        }
    }
}

fn properties_json(p: &PublishProperties) -> Option<String> {
    let mut m = String::new();
    let mut add = |k: &str, v: String| {
        m.push(if m.is_empty() { '{' } else { ',' });
        write_str(&mut m, k);
        m.push(':');
        m.push_str(&v);
    };
    let quoted = |s: &str| {
        let mut q = String::new();
        write_str(&mut q, s);
        q
    };
    if let Some(v) = p.payload_format_indicator {
        add(
            "payload_format_indicator",
            (if v { "1" } else { "0" }).into(),
        );
    }
    if let Some(v) = p.message_expiry_interval {
        add("message_expiry_interval", v.to_string());
    }
    if let Some(v) = &p.content_type {
        add("content_type", quoted(v));
    }
    if let Some(v) = &p.response_topic {
        add("response_topic", quoted(v));
    }
    if let Some(v) = &p.correlation_data {
        add("correlation_data", quoted(&base64::encode(v)));
    }
    if !p.user_properties.is_empty() {
        let pairs: Vec<String> = p
            .user_properties
            .iter()
            .map(|(k, v)| format!("[{},{}]", quoted(k), quoted(v)))
            .collect();
        add("user_properties", format!("[{}]", pairs.join(",")));
    }
    if !p.subscription_identifiers.is_empty() {
        let ids: Vec<String> = p
            .subscription_identifiers
            .iter()
            .map(ToString::to_string)
            .collect();
        add("subscription_identifiers", format!("[{}]", ids.join(",")));
    }
    (!m.is_empty()).then(|| m + "}")
}

/// One JSON line per message, oldest first.
pub fn messages_jsonl<'a>(msgs: impl IntoIterator<Item = &'a Message>) -> String {
    let mut out = String::new();
    for m in msgs {
        let _ = write!(out, r#"{{"timestamp":{},"topic":"#, m.at_ms);
        write_str(&mut out, &m.topic);
        let _ = write!(out, r#","qos":{},"retain":{}"#, m.qos as u8, m.retain);
        payload_fields(&mut out, &m.payload);
        if let Some(p) = properties_json(&m.properties) {
            out.push_str(r#","properties":"#);
            out.push_str(&p);
        }
        out.push_str("}\n");
    }
    out
}

/// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn csv_row(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

pub fn messages_csv<'a>(msgs: impl IntoIterator<Item = &'a Message>) -> String {
    let mut out = String::new();
    csv_row(
        &mut out,
        &[
            "timestamp",
            "topic",
            "qos",
            "retain",
            "encoding",
            "payload",
            "properties",
        ],
    );
    for m in msgs {
        let (enc, payload) = match std::str::from_utf8(&m.payload) {
            Ok(s) => ("utf-8", s.to_owned()),
            Err(_) => ("base64", base64::encode(&m.payload)),
        };
        let props = properties_json(&m.properties).unwrap_or_default();
        csv_row(
            &mut out,
            &[
                &m.at_ms.to_string(),
                &m.topic,
                &(m.qos as u8).to_string(),
                if m.retain { "true" } else { "false" },
                enc,
                &payload,
                &props,
            ],
        );
    }
    out
}

fn trace_fields(e: &TraceEntry) -> [String; 10] {
    let s = summarize(&e.tapped);
    [
        e.seq.to_string(),
        e.tapped.at_ms.to_string(),
        e.tapped.dir.word().to_owned(),
        s.name.to_owned(),
        s.pid.map(|p| p.to_string()).unwrap_or_default(),
        s.flags,
        s.reason.unwrap_or_default(),
        e.tapped.raw.len().to_string(),
        s.detail,
        e.tapped.raw.iter().map(|b| format!("{b:02x}")).collect(),
    ]
}

const TRACE_COLUMNS: [&str; 10] = [
    "seq",
    "timestamp",
    "direction",
    "type",
    "packet_id",
    "flags",
    "reason",
    "size",
    "detail",
    "hex",
];

/// The trace as JSON Lines: one packet per line with its summary and the raw bytes in hex.
pub fn trace_jsonl<'a>(
    entries: impl IntoIterator<Item = &'a std::sync::Arc<TraceEntry>>,
) -> String {
    let mut out = String::new();
    for e in entries {
        let f = trace_fields(e);
        out.push('{');
        for (i, (k, v)) in TRACE_COLUMNS.iter().zip(&f).enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(&mut out, k);
            out.push(':');
            // Numbers as numbers, the rest as strings.
            if matches!(*k, "seq" | "timestamp" | "size") || (*k == "packet_id" && !v.is_empty()) {
                out.push_str(v);
            } else if *k == "packet_id" {
                out.push_str("null");
            } else {
                write_str(&mut out, v);
            }
        }
        out.push_str("}\n");
    }
    out
}

pub fn trace_csv<'a>(entries: impl IntoIterator<Item = &'a std::sync::Arc<TraceEntry>>) -> String {
    let mut out = String::new();
    csv_row(&mut out, &TRACE_COLUMNS);
    for e in entries {
        let f = trace_fields(e);
        let refs: Vec<&str> = f.iter().map(String::as_str).collect();
        csv_row(&mut out, &refs);
    }
    out
}

/// A message read back from a JSON Lines file, ready to publish again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub timestamp: u64,
    pub topic: TopicName,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub properties: Props<PublishProperties>,
}

/// Reads a JSON Lines file of messages; errors name the line. Blank lines are skipped.
pub fn parse_jsonl(text: &str) -> Result<Vec<Replayed>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_LINES {
            return Err(format!("More than {MAX_LINES} messages; split the file."));
        }
        let n = i + 1;
        let v = value::parse(line).map_err(|e| format!("Line {n}: not JSON ({e})."))?;
        out.push(replayed(&v).map_err(|e| format!("Line {n}: {e}."))?);
    }
    if out.is_empty() {
        return Err("The file holds no messages.".into());
    }
    Ok(out)
}

fn replayed(v: &Value) -> Result<Replayed, String> {
    let topic = v
        .get("topic")
        .and_then(Value::as_str)
        .ok_or("no \"topic\"")?;
    let topic = TopicName::new(topic).map_err(|e| format!("bad topic: {e}"))?;
    let text = v.get("payload").and_then(Value::as_str).unwrap_or("");
    let payload = match v.get("encoding").and_then(Value::as_str) {
        Some("base64") => Bytes::from(base64::decode(text).ok_or("payload is not valid base64")?),
        _ => Bytes::copy_from_slice(text.as_bytes()),
    };
    let qos = match v.get("qos") {
        None => QoS::AtMostOnce,
        Some(Value::Number(_, raw)) if raw == "0" => QoS::AtMostOnce,
        Some(Value::Number(_, raw)) if raw == "1" => QoS::AtLeastOnce,
        Some(Value::Number(_, raw)) if raw == "2" => QoS::ExactlyOnce,
        Some(_) => return Err("qos must be 0, 1 or 2".into()),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let timestamp = v
        .get("timestamp")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
        .max(0.0) as u64;
    let mut props = PublishProperties::default();
    if let Some(p) = v.get("properties") {
        let s = |k| p.get(k).and_then(Value::as_str);
        props.content_type = s("content_type").map(Into::into);
        props.response_topic = s("response_topic").and_then(|t| TopicName::new(t).ok());
        props.correlation_data = s("correlation_data")
            .and_then(base64::decode)
            .map(Bytes::from);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        {
            props.message_expiry_interval = p
                .get("message_expiry_interval")
                .and_then(Value::as_f64)
                .map(|n| n as u32);
            props.payload_format_indicator = p
                .get("payload_format_indicator")
                .and_then(Value::as_f64)
                .map(|n| n != 0.0);
        }
        if let Some(Value::Array(pairs)) = p.get("user_properties") {
            for pair in pairs {
                if let Value::Array(kv) = pair
                    && let [Value::String(k), Value::String(v)] = kv.as_slice()
                {
                    props
                        .user_properties
                        .push((k.as_str().into(), v.as_str().into()));
                }
            }
        }
    }
    Ok(Replayed {
        timestamp,
        topic,
        payload,
        qos,
        retain: v.get("retain").and_then(Value::as_bool).unwrap_or(false),
        properties: props.into(),
    })
}

#[cfg(test)]
mod tests;
