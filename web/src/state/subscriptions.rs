//! The subscription list: what the user asked for, what the broker granted, and what must be
//! (re)requested after a reconnect. The list survives disconnects; when the broker has no
//! session for us every entry is requested again.

use tern_codec::{QoS, ReasonCode, TopicFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubState {
    /// Not yet sent on the current connection.
    Pending,
    /// SUBSCRIBE sent, SUBACK not yet here.
    Requested,
    Granted(QoS),
    Refused(ReasonCode),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: u64,
    pub filter: TopicFilter,
    /// The QoS asked for.
    pub qos: QoS,
    /// CSS colour, `#rrggbb`.
    pub color: String,
    pub state: SubState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    items: Vec<Subscription>,
    next_id: u64,
    selected: Option<u64>,
    /// Removed while offline from a session the broker may still hold: unsubscribed after the
    /// next reconnect that finds the session present.
    unsubscribe_later: Vec<TopicFilter>,
}

impl Subscriptions {
    pub fn items(&self) -> &[Subscription] {
        &self.items
    }

    pub fn get(&self, id: u64) -> Option<&Subscription> {
        self.items.iter().find(|s| s.id == id)
    }

    /// Adds a subscription, or updates QoS and colour of an existing one with the same filter
    /// (the broker replaces a subscription to the same filter, section 3.8.4). Returns its id.
    pub fn add(&mut self, filter: TopicFilter, qos: QoS, color: String) -> u64 {
        self.unsubscribe_later.retain(|f| *f != filter);
        if let Some(s) = self.items.iter_mut().find(|s| s.filter == filter) {
            s.qos = qos;
            s.color = color;
            s.state = SubState::Pending;
            return s.id;
        }
        self.next_id += 1;
        self.items.push(Subscription {
            id: self.next_id,
            filter,
            qos,
            color,
            state: SubState::Pending,
        });
        self.next_id
    }

    /// Removes a subscription. Returns the filter to UNSUBSCRIBE now when connected and the
    /// broker may know it; when offline with a persistent session, remembers it for later.
    pub fn remove(&mut self, id: u64, connected: bool, persistent: bool) -> Option<TopicFilter> {
        let i = self.items.iter().position(|s| s.id == id)?;
        let sub = self.items.remove(i);
        if self.selected == Some(id) {
            self.selected = None;
        }
        let broker_knows = matches!(sub.state, SubState::Requested | SubState::Granted(_));
        if connected && broker_knows {
            Some(sub.filter)
        } else {
            if !connected && persistent && matches!(sub.state, SubState::Granted(_)) {
                self.unsubscribe_later.push(sub.filter);
            }
            None
        }
    }

    /// The filters to SUBSCRIBE now; they become `Requested`.
    pub fn take_requests(&mut self) -> Vec<(TopicFilter, QoS)> {
        self.items
            .iter_mut()
            .filter(|s| s.state == SubState::Pending)
            .map(|s| {
                s.state = SubState::Requested;
                (s.filter.clone(), s.qos)
            })
            .collect()
    }

    /// CONNACK arrived. Without a session on the broker every subscription is requested again
    /// (5.0 [MQTT-3.2.2-5]: its old grants are gone). Returns filters to UNSUBSCRIBE.
    pub fn on_connected(&mut self, session_present: bool) -> Vec<TopicFilter> {
        if session_present {
            return std::mem::take(&mut self.unsubscribe_later);
        }
        self.unsubscribe_later.clear();
        for s in &mut self.items {
            s.state = SubState::Pending;
        }
        Vec::new()
    }

    /// CONNACK arrived for an MQTT 3.1 persistent session, whose CONNACK cannot say whether
    /// the broker kept it (MQTT 3.1 section 3.2: no Session Present flag). Filters removed
    /// while offline are unsubscribed, since the broker may still have them, and every
    /// subscription is requested again, since it may not: a SUBSCRIBE for a filter the
    /// broker has replaces that subscription ([MQTT-3.8.4-3]). Returns filters to UNSUBSCRIBE.
    pub fn on_connected_unknown_session(&mut self) -> Vec<TopicFilter> {
        for s in &mut self.items {
            s.state = SubState::Pending;
        }
        std::mem::take(&mut self.unsubscribe_later)
    }

    /// The connection ended. An unanswered SUBSCRIBE is not resent by the protocol, so it is
    /// asked again next time; without a persistent session the broker forgets every grant
    /// ([MQTT-3.1.2-6]), so all of them become pending.
    pub fn on_connection_lost(&mut self, persistent: bool) {
        for s in &mut self.items {
            if s.state == SubState::Requested || !persistent {
                s.state = SubState::Pending;
            }
        }
    }

    /// SUBACK results, in the order of the SUBSCRIBE's filters ([MQTT-3.9.3-1]).
    pub fn on_suback(&mut self, filters: &[TopicFilter], results: &[Result<QoS, ReasonCode>]) {
        for (f, r) in filters.iter().zip(results) {
            if let Some(s) = self
                .items
                .iter_mut()
                .find(|s| s.filter == *f && s.state == SubState::Requested)
            {
                s.state = match r {
                    Ok(q) => SubState::Granted(*q),
                    Err(code) => SubState::Refused(*code),
                };
            }
        }
    }

    /// The first subscription (in list order) whose filter matches `topic`: its colour
    /// and filter mark the message in the list.
    pub fn matching(&self, topic: &str) -> Option<&Subscription> {
        self.items
            .iter()
            .filter(|s| !matches!(s.state, SubState::Refused(_)))
            .find(|s| s.filter.matches(topic))
    }

    /// The colour of [`Subscriptions::matching`].
    pub fn color_for(&self, topic: &str) -> Option<String> {
        self.matching(topic).map(|s| s.color.clone())
    }

    /// Clicking a subscription filters the message list by it; clicking again shows all.
    pub fn toggle_selected(&mut self, id: u64) {
        self.selected = if self.selected == Some(id) {
            None
        } else {
            Some(id)
        };
    }

    pub fn clear_selection(&mut self) {
        self.selected = None;
    }

    pub fn selected(&self) -> Option<&Subscription> {
        self.selected.and_then(|id| self.get(id))
    }
}

/// Colours that read on both light and dark backgrounds and are easy to tell apart.
pub const PALETTE: [&str; 10] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    "#469990", "#808000",
];

/// A palette colour from a random number in `[0, 1)`.
pub fn random_color(r: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to the palette
    let i = ((r * PALETTE.len() as f64) as usize).min(PALETTE.len() - 1);
    PALETTE[i].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> TopicFilter {
        TopicFilter::new(s).unwrap()
    }

    fn states(s: &Subscriptions) -> Vec<SubState> {
        s.items().iter().map(|x| x.state).collect()
    }

    #[test]
    fn suback_grants_and_refusals_are_recorded_in_order_mqtt_3_9_3_1() {
        let mut s = Subscriptions::default();
        s.add(f("a/#"), QoS::ExactlyOnce, "#111111".into());
        s.add(f("b"), QoS::AtLeastOnce, "#222222".into());
        let req = s.take_requests();
        assert_eq!(
            req,
            vec![(f("a/#"), QoS::ExactlyOnce), (f("b"), QoS::AtLeastOnce)]
        );
        assert!(s.take_requests().is_empty(), "requested only once");
        s.on_suback(
            &[f("a/#"), f("b")],
            &[Ok(QoS::AtLeastOnce), Err(ReasonCode::NotAuthorized)],
        );
        assert_eq!(
            states(&s),
            [
                SubState::Granted(QoS::AtLeastOnce),
                SubState::Refused(ReasonCode::NotAuthorized)
            ]
        );
    }

    #[test]
    fn same_filter_updates_the_existing_row() {
        let mut s = Subscriptions::default();
        let a = s.add(f("x"), QoS::AtMostOnce, "#111111".into());
        s.take_requests();
        let b = s.add(f("x"), QoS::ExactlyOnce, "#999999".into());
        assert_eq!(a, b);
        assert_eq!(s.items().len(), 1);
        assert_eq!(s.items()[0].state, SubState::Pending);
        assert_eq!(s.items()[0].color, "#999999");
    }

    #[test]
    fn without_a_session_everything_is_requested_again() {
        let mut s = Subscriptions::default();
        s.add(f("a"), QoS::AtMostOnce, "#111111".into());
        s.add(f("b"), QoS::AtMostOnce, "#222222".into());
        s.take_requests();
        s.on_suback(
            &[f("a"), f("b")],
            &[Ok(QoS::AtMostOnce), Ok(QoS::AtMostOnce)],
        );
        s.on_connection_lost(true);
        assert!(s.on_connected(false).is_empty());
        assert_eq!(s.take_requests().len(), 2);
    }

    #[test]
    fn with_a_session_only_unanswered_requests_are_repeated() {
        let mut s = Subscriptions::default();
        s.add(f("a"), QoS::AtMostOnce, "#111111".into());
        s.take_requests();
        s.on_suback(&[f("a")], &[Ok(QoS::AtMostOnce)]);
        s.add(f("b"), QoS::AtMostOnce, "#222222".into());
        s.take_requests(); // sent, then the link dropped before SUBACK
        s.on_connection_lost(true);
        assert_eq!(s.items()[0].state, SubState::Granted(QoS::AtMostOnce));
        s.on_connected(true);
        assert_eq!(s.take_requests(), vec![(f("b"), QoS::AtMostOnce)]);
    }

    #[test]
    fn clean_session_grants_end_with_the_connection_mqtt_3_1_2_6() {
        let mut s = Subscriptions::default();
        s.add(f("a"), QoS::AtMostOnce, "#111111".into());
        s.take_requests();
        s.on_suback(&[f("a")], &[Ok(QoS::AtMostOnce)]);
        s.on_connection_lost(false);
        assert_eq!(states(&s), [SubState::Pending]);
    }

    #[test]
    fn remove_unsubscribes_now_or_after_reconnect() {
        let mut s = Subscriptions::default();
        let a = s.add(f("a"), QoS::AtMostOnce, "#111111".into());
        let b = s.add(f("b"), QoS::AtMostOnce, "#222222".into());
        let c = s.add(f("c"), QoS::AtMostOnce, "#333333".into());
        s.take_requests();
        s.on_suback(
            &[f("a"), f("b")],
            &[Ok(QoS::AtMostOnce), Ok(QoS::AtMostOnce)],
        );
        assert_eq!(s.remove(a, true, false), Some(f("a")));
        // Offline, persistent session: the broker still has "b".
        assert_eq!(s.remove(b, false, true), None);
        s.on_connection_lost(true);
        assert_eq!(s.on_connected(true), vec![f("b")]);
        // "c" was never granted; nothing to tell the broker.
        assert_eq!(s.remove(c, false, true), None);
        assert!(s.on_connected(true).is_empty());
        assert_eq!(s.remove(99, true, true), None);
    }

    #[test]
    fn mqtt_3_1_unknown_session_unsubscribes_removed_and_resubscribes_all_mqtt_3_8_4_3() {
        let mut s = Subscriptions::default();
        let a = s.add(f("a"), QoS::AtMostOnce, "#111111".into());
        s.add(f("b"), QoS::AtLeastOnce, "#222222".into());
        s.take_requests();
        s.on_suback(
            &[f("a"), f("b")],
            &[Ok(QoS::AtMostOnce), Ok(QoS::AtLeastOnce)],
        );
        s.on_connection_lost(true);
        assert_eq!(s.remove(a, false, true), None);
        assert_eq!(s.on_connected_unknown_session(), vec![f("a")]);
        assert_eq!(s.take_requests(), vec![(f("b"), QoS::AtLeastOnce)]);
        assert!(
            s.on_connected_unknown_session().is_empty(),
            "unsubscribed once"
        );
    }

    #[test]
    fn colour_comes_from_the_first_matching_filter_mqtt_4_7_1_3() {
        let mut s = Subscriptions::default();
        s.add(f("sensors/+/temp"), QoS::AtMostOnce, "#111111".into());
        s.add(f("sensors/#"), QoS::AtMostOnce, "#222222".into());
        assert_eq!(s.color_for("sensors/k1/temp").as_deref(), Some("#111111"));
        assert_eq!(s.color_for("sensors/k1/hum").as_deref(), Some("#222222"));
        assert_eq!(s.color_for("sensors").as_deref(), Some("#222222"));
        assert_eq!(s.color_for("other"), None);
        let m = s.matching("sensors/k1/temp").unwrap();
        assert_eq!(m.filter.as_str(), "sensors/+/temp");
    }

    #[test]
    fn selection_toggles_and_follows_removal() {
        let mut s = Subscriptions::default();
        let a = s.add(f("a"), QoS::AtMostOnce, "#111111".into());
        s.toggle_selected(a);
        assert_eq!(s.selected().map(|x| x.filter.as_str()), Some("a"));
        s.toggle_selected(a);
        assert!(s.selected().is_none());
        s.toggle_selected(a);
        s.remove(a, false, false);
        assert!(s.selected().is_none());
    }

    #[test]
    fn random_colour_is_from_the_palette() {
        assert_eq!(random_color(0.0), PALETTE[0]);
        assert_eq!(random_color(0.999_999), PALETTE[9]);
        assert_eq!(random_color(1.0), PALETTE[9]);
    }
}
