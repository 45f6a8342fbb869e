use super::*;

fn sub(k: u64, qos: QoS) -> Subscriber {
    Subscriber {
        key: SessionKey(k),
        options: SubscriptionOptions::new(qos),
        id: None,
    }
}

fn keys(t: &mut SubscriptionTree, topic: &str) -> Vec<u64> {
    let mut out = Vec::new();
    t.matches(topic, &|_| true, &mut out);
    let mut k: Vec<u64> = out.iter().map(|m| m.key.0).collect();
    k.sort_unstable();
    k
}

#[test]
fn wildcards_match_per_mqtt_4_7() {
    let mut t = SubscriptionTree::default();
    t.insert("sport/tennis/+", sub(1, QoS::AtMostOnce));
    t.insert("sport/#", sub(2, QoS::AtMostOnce));
    t.insert("#", sub(3, QoS::AtMostOnce));
    t.insert("+/+", sub(4, QoS::AtMostOnce));
    t.insert("/+", sub(5, QoS::AtMostOnce));
    assert_eq!(keys(&mut t, "sport/tennis/player1"), vec![1, 2, 3]);
    assert_eq!(keys(&mut t, "sport"), vec![2, 3]);
    assert_eq!(keys(&mut t, "sport/tennis"), vec![2, 3, 4]);
    assert_eq!(keys(&mut t, "/finance"), vec![3, 4, 5]);
    assert_eq!(t.len(), 5);
}

#[test]
fn dollar_topics_not_matched_by_leading_wildcards_mqtt_4_7_2_1() {
    let mut t = SubscriptionTree::default();
    t.insert("#", sub(1, QoS::AtMostOnce));
    t.insert("+/monitor/Clients", sub(2, QoS::AtMostOnce));
    t.insert("$SYS/#", sub(3, QoS::AtMostOnce));
    t.insert("$SYS/monitor/+", sub(4, QoS::AtMostOnce));
    assert_eq!(keys(&mut t, "$SYS/monitor/Clients"), vec![3, 4]);
    assert_eq!(keys(&mut t, "a/monitor/Clients"), vec![1, 2]);
}

#[test]
fn replace_and_remove_prune() {
    let mut t = SubscriptionTree::default();
    assert!(!t.insert("a/b", sub(1, QoS::AtMostOnce)));
    assert!(t.insert("a/b", sub(1, QoS::ExactlyOnce)));
    assert_eq!(t.len(), 1);
    assert!(t.remove("a/b", SessionKey(1)));
    assert!(!t.remove("a/b", SessionKey(1)));
    assert!(t.root.is_empty());
    assert!(t.is_empty());
}

#[test]
fn wildcard_children_pruned_on_remove() {
    let mut t = SubscriptionTree::default();
    t.insert("a/+/c/#", sub(1, QoS::AtMostOnce));
    t.insert("+/#", sub(2, QoS::AtMostOnce));
    t.insert("$share/g/+/b", sub(3, QoS::AtMostOnce));
    assert_eq!(keys(&mut t, "a/b/c"), vec![1, 2]);
    assert_eq!(keys(&mut t, "x/b"), vec![2, 3]);
    assert!(!t.remove("a/+/c", SessionKey(1)), "a different filter");
    assert!(t.remove("a/+/c/#", SessionKey(1)));
    assert!(t.remove("+/#", SessionKey(2)));
    assert!(t.remove("$share/g/+/b", SessionKey(3)));
    assert!(t.root.is_empty(), "{:?}", t.root);
}

#[test]
fn plus_matches_exactly_one_level_including_empty_mqtt_4_7_1_3() {
    let mut t = SubscriptionTree::default();
    t.insert("sport/+", sub(1, QoS::AtMostOnce));
    t.insert("+", sub(2, QoS::AtMostOnce));
    t.insert("sport/+/+", sub(3, QoS::AtMostOnce));
    assert_eq!(keys(&mut t, "sport"), vec![2]);
    assert_eq!(keys(&mut t, "sport/"), vec![1]);
    assert_eq!(keys(&mut t, "sport/a/"), vec![3]);
    assert_eq!(keys(&mut t, "sport/a/b/c"), Vec::<u64>::new());
    assert_eq!(keys(&mut t, "$SYS"), Vec::<u64>::new(), "[MQTT-4.7.2-1]");
}

#[test]
fn shared_group_round_robin_mqtt_4_8_2() {
    let mut t = SubscriptionTree::default();
    t.insert("$share/g/a/+", sub(1, QoS::AtMostOnce));
    t.insert("$share/g/a/+", sub(2, QoS::AtMostOnce));
    t.insert("$share/h/a/+", sub(3, QoS::AtMostOnce));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut out = Vec::new();
        t.matches("a/x", &|_| true, &mut out);
        assert_eq!(out.len(), 2, "one member per group");
        assert!(out.iter().all(|m| m.shared));
        seen.extend(out.iter().map(|m| m.key.0).filter(|k| *k != 3));
    }
    assert_eq!(seen, vec![1, 2, 1, 2]);
    // Offline members are skipped while an online one exists.
    let mut out = Vec::new();
    t.matches("a/x", &|k| k.0 != 1, &mut out);
    assert!(out.iter().any(|m| m.key.0 == 2));
    assert!(t.remove("$share/g/a/+", SessionKey(1)));
    assert!(t.remove("$share/g/a/+", SessionKey(2)));
    assert_eq!(keys(&mut t, "a/x"), vec![3]);
}

/// A filter and a topic of 60,000 levels: matching, removal and dropping the trie used to
/// recurse once per level and overflow the stack (issue: one SUBSCRIBE aborted the broker).
#[test]
fn sixty_thousand_levels_walk_remove_and_drop_without_recursion() {
    let deep_filter = format!("{}#", "/".repeat(60_000));
    let deep_topic = "a/".repeat(60_000) + "z";
    let plus_filter = "+/".repeat(60_000) + "z";
    let mut t = SubscriptionTree::default();
    t.insert(&deep_filter, sub(1, QoS::AtMostOnce));
    t.insert(&plus_filter, sub(2, QoS::AtLeastOnce));
    t.insert(&deep_topic, sub(3, QoS::AtMostOnce));
    t.insert("#", sub(4, QoS::AtMostOnce));
    assert_eq!(keys(&mut t, &deep_topic), vec![2, 3, 4]);
    assert_eq!(keys(&mut t, &"/".repeat(70_000)), vec![1, 4]);
    assert!(t.remove(&deep_filter, SessionKey(1)));
    assert!(!t.remove(&deep_filter, SessionKey(1)));
    assert_eq!(keys(&mut t, &"/".repeat(70_000)), vec![4]);
    assert!(t.remove(&plus_filter, SessionKey(2)));
    assert_eq!(t.len(), 2);
    // The third deep branch is freed by `Drop`, iteratively.
    drop(t);
}

#[test]
fn removal_prunes_only_the_dead_branch() {
    let mut t = SubscriptionTree::default();
    t.insert("a/b/c/d", sub(1, QoS::AtMostOnce));
    t.insert("a/b", sub(2, QoS::AtMostOnce));
    t.insert("a/x/c/d", sub(3, QoS::AtMostOnce));
    t.insert("$share/g/a/b/c/d", sub(4, QoS::AtMostOnce));
    assert!(t.remove("a/b/c/d", SessionKey(1)));
    assert_eq!(
        keys(&mut t, "a/b/c/d"),
        vec![4],
        "shared member keeps the node"
    );
    assert!(t.remove("$share/g/a/b/c/d", SessionKey(4)));
    assert!(
        t.root
            .child("a")
            .and_then(|a| a.child("b"))
            .is_some_and(|b| b.child_count() == 0)
    );
    assert_eq!(keys(&mut t, "a/b"), vec![2]);
    assert_eq!(keys(&mut t, "a/x/c/d"), vec![3]);
    assert!(t.remove("a/b", SessionKey(2)));
    assert!(t.remove("a/x/c/d", SessionKey(3)));
    assert!(t.root.is_empty());
}

/// Adding and removing one subscriber of a hot filter does not scan its other subscribers.
#[test]
fn hot_filter_keeps_order_and_swaps_on_remove() {
    let mut t = SubscriptionTree::default();
    for k in 0..100_000 {
        t.insert("hot/topic", sub(k, QoS::AtMostOnce));
    }
    for k in (0..100_000).step_by(2) {
        assert!(t.remove("hot/topic", SessionKey(k)));
    }
    assert_eq!(t.len(), 50_000);
    let got = keys(&mut t, "hot/topic");
    assert_eq!(got.len(), 50_000);
    assert!(got.iter().all(|k| k % 2 == 1));
}
