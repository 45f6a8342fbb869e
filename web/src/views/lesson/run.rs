//! Runs a lesson step's experiment against the connected broker and hands what it saw to
//! [`crate::model::lesson::explain`]. The page's own connection subscribes and publishes
//! under `tern-lesson/<run>/` (its messages stay out of the list and tree); a helper
//! connection plays the second client where a step needs one.

use bytes::Bytes;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use tern_codec::{Packet, QoS, TopicFilter, TopicName};

use crate::browser::{self, now_ms};
use crate::model::lesson::explain::{self, Outcome};
use crate::model::lesson::{Experiment, WILDCARD_TOPICS, base_topic};
use crate::mqtt::client::Client;
use crate::mqtt::helper::Helper;
use crate::mqtt::options::WillOptions;
use crate::mqtt::session::granted_qos;
use crate::mqtt::tap::Direction;
use crate::settings::random_client_id;
use crate::ui::Ui;

async fn sleep(ms: u32) {
    TimeoutFuture::new(ms).await;
}

/// Polls `f` every 50 ms until it gives a value or `ms` pass.
async fn wait<T>(ms: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = now_ms() + ms;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if now_ms() > end {
            return None;
        }
        sleep(50).await;
    }
}

struct Run {
    ui: Ui,
    client: Client,
    base: String,
}

impl Run {
    fn filter(&self, rel: &str) -> Option<TopicFilter> {
        TopicFilter::new(format!("{}/{rel}", self.base)).ok()
    }

    /// Subscribes for the page; the granted QoS from SUBACK, if the broker answered.
    async fn subscribe(&self, rel: &str, qos: QoS) -> Option<u8> {
        let f = self.filter(rel)?;
        let from = self.ui.trace.with_untracked(|t| t.next_seq());
        self.client.subscribe_internal(f, qos);
        wait(5_000, || {
            self.ui.trace.with_untracked(|t| {
                t.since(from).iter().find_map(|e| match &e.tapped.packet {
                    Packet::SubAck(a) => a
                        .reasons
                        .first()
                        .map(|r| granted_qos(*r).map_or(0x80, |q| q as u8)),
                    _ => None,
                })
            })
        })
        .await
        .filter(|q| *q < 3)
    }

    fn unsubscribe(&self, rel: &str) {
        if let Some(f) = self.filter(rel) {
            self.client.unsubscribe_internal(&f);
        }
    }

    fn publish(&self, rel: &str, payload: &str, qos: QoS, retain: bool) -> bool {
        let Ok(t) = TopicName::new(format!("{}/{rel}", self.base)) else {
            return false;
        };
        self.client
            .publish_quiet(
                t,
                Bytes::copy_from_slice(payload.as_bytes()),
                qos,
                retain,
                Default::default(),
            )
            .is_ok()
    }

    fn inbox_len(&self) -> usize {
        self.ui.lesson_inbox.with_untracked(Vec::len)
    }

    /// Messages on `rel` (exact) since inbox position `from`: (payload, retain, time).
    fn seen(&self, from: usize, rel: &str) -> Vec<(String, bool, u64)> {
        let topic = format!("{}/{rel}", self.base);
        self.ui.lesson_inbox.with_untracked(|b| {
            b.iter()
                .skip(from)
                .filter(|m| m.0 == topic)
                .map(|m| (String::from_utf8_lossy(&m.1).into_owned(), m.2, m.3))
                .collect()
        })
    }

    /// Topics (relative to the run) received since `from`.
    fn topics_since(&self, from: usize) -> Vec<String> {
        let prefix = format!("{}/", self.base);
        self.ui.lesson_inbox.with_untracked(|b| {
            b.iter()
                .skip(from)
                .filter_map(|m| m.0.strip_prefix(&prefix).map(str::to_owned))
                .collect()
        })
    }

    fn helper(
        &self,
        rel_will: Option<&str>,
        keep_alive: u16,
        clean: bool,
        id: &str,
    ) -> Result<Helper, String> {
        let target = self.client.target().ok_or("Connect first.")?;
        let mut o = target.options.clone();
        o.client_id = id.to_owned();
        o.clean_session = clean;
        o.keep_alive = keep_alive;
        o.will = rel_will.and_then(|rel| {
            Some(WillOptions {
                topic: TopicName::new(format!("{}/{rel}", self.base)).ok()?,
                payload: Bytes::from_static(b"helper went offline"),
                qos: QoS::AtLeastOnce,
                retain: false,
            })
        });
        Helper::open(&target.url, o)
    }
}

/// Runs `exp`; `Err` when it cannot start (not connected).
pub async fn run(ui: Ui, client: Client, exp: Experiment) -> Result<Outcome, String> {
    if !client.is_connected() {
        return Err("Connect to a broker first: the experiment runs against it.".into());
    }
    let id = random_client_id(browser::random).replace("tern-", "");
    let r = Run {
        ui,
        client,
        base: base_topic(&id),
    };
    Ok(match exp {
        Experiment::PubSub => {
            let granted = r.subscribe("hello", QoS::AtMostOnce).await;
            let from = r.inbox_len();
            let sent = now_ms();
            r.publish("hello", "Hello, class!", QoS::AtMostOnce, false);
            let echo = wait(5_000, || r.seen(from, "hello").into_iter().next()).await;
            r.unsubscribe("hello");
            let topic = format!("{}/hello", r.base);
            explain::pubsub(
                &topic,
                granted,
                echo.as_ref()
                    .map(|e| (e.0.as_str(), e.2.saturating_sub(sent))),
            )
        }
        Experiment::Wildcards => {
            let mut runs = Vec::new();
            for filter in ["house/+/main-light", "house/#"] {
                r.subscribe(filter, QoS::AtMostOnce).await;
                let from = r.inbox_len();
                for t in WILDCARD_TOPICS {
                    r.publish(t, "on", QoS::AtMostOnce, false);
                }
                // Wait for the matching ones; then a moment for any that should not come.
                let want = WILDCARD_TOPICS
                    .iter()
                    .filter(|t| tern_codec::topic_matches(filter, t))
                    .count();
                wait(3_000, || (r.topics_since(from).len() >= want).then_some(())).await;
                sleep(300).await;
                r.unsubscribe(filter);
                runs.push((filter, r.topics_since(from)));
            }
            explain::wildcards(&runs)
        }
        Experiment::Qos => {
            r.subscribe("qos", QoS::ExactlyOnce).await;
            let mut flows = Vec::new();
            for q in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let from_seq = ui.trace.with_untracked(|t| t.next_seq());
                let from = r.inbox_len();
                r.publish("qos", &format!("QoS {}", q as u8), q, false);
                wait(5_000, || (!r.seen(from, "qos").is_empty()).then_some(())).await;
                sleep(300).await;
                let packets: Vec<(&'static str, bool)> = ui.trace.with_untracked(|t| {
                    t.since(from_seq)
                        .iter()
                        .filter(|e| !e.is_ping())
                        .map(|e| (e.packet_type().name(), e.tapped.dir == Direction::Sent))
                        .collect()
                });
                flows.push((q as u8, packets));
            }
            r.unsubscribe("qos");
            explain::qos(
                &flows
                    .iter()
                    .map(|(q, p)| (*q, p.clone()))
                    .collect::<Vec<_>>(),
            )
        }
        Experiment::Retained => {
            let topic = format!("{}/retained", r.base);
            r.publish("retained", "21.5 °C", QoS::AtLeastOnce, true);
            sleep(300).await;
            let from = r.inbox_len();
            r.subscribe("retained", QoS::AtLeastOnce).await;
            let first = wait(3_000, || r.seen(from, "retained").into_iter().next()).await;
            r.unsubscribe("retained");
            r.publish("retained", "", QoS::AtLeastOnce, true);
            sleep(300).await;
            let from = r.inbox_len();
            r.subscribe("retained", QoS::AtLeastOnce).await;
            sleep(1_000).await;
            let after = r
                .seen(from, "retained")
                .into_iter()
                .find(|m| !m.0.is_empty());
            r.unsubscribe("retained");
            explain::retained(
                &topic,
                first.as_ref().map(|m| (m.0.as_str(), m.1)),
                after.as_ref().map(|m| m.0.as_str()),
            )
        }
        Experiment::Will => {
            let topic = format!("{}/will", r.base);
            r.subscribe("will", QoS::AtLeastOnce).await;
            let from = r.inbox_len();
            let h = r.helper(Some("will"), 60, true, &format!("tern-lesson-{id}"))?;
            wait(5_000, || h.connected()).await;
            let cut = now_ms();
            h.cut();
            let got = wait(10_000, || r.seen(from, "will").into_iter().next()).await;
            r.unsubscribe("will");
            explain::will(
                &topic,
                got.as_ref()
                    .map(|m| (m.0.as_str(), m.2.saturating_sub(cut))),
            )
        }
        Experiment::KeepAlive => {
            r.subscribe("silent", QoS::AtLeastOnce).await;
            let from = r.inbox_len();
            let h = r.helper(Some("silent"), 2, true, &format!("tern-lesson-{id}"))?;
            wait(5_000, || h.connected()).await;
            let quiet = now_ms();
            let got = wait(10_000, || r.seen(from, "silent").into_iter().next()).await;
            h.cut();
            r.unsubscribe("silent");
            let pings = ui
                .trace
                .with_untracked(|t| t.iter(false).filter(|e| e.is_ping()).count());
            explain::keep_alive(2, got.map(|m| m.2.saturating_sub(quiet)), pings)
        }
        Experiment::Session => {
            let cid = format!("tern-lesson-{id}");
            let h = r.helper(None, 60, false, &cid)?;
            wait(5_000, || h.connected()).await;
            if let Some(f) = r.filter("session") {
                h.subscribe(f, QoS::AtLeastOnce);
            }
            sleep(500).await;
            h.disconnect();
            r.publish(
                "session",
                "sent while you were away",
                QoS::AtLeastOnce,
                false,
            );
            sleep(500).await;
            let back = r.helper(None, 60, false, &cid)?;
            let present = wait(5_000, || back.connected()).await;
            let got = wait(5_000, || back.messages().into_iter().next()).await;
            back.disconnect();
            // Leave nothing behind: a clean connection ends the stored session.
            if let Ok(c) = r.helper(None, 60, true, &cid) {
                wait(3_000, || c.connected()).await;
                c.disconnect();
            }
            let payload = got.map(|m| String::from_utf8_lossy(&m.1).into_owned());
            explain::session(present, payload.as_deref())
        }
    })
}
