use bytes::Bytes;
use tern_codec::QoS;

use super::*;

fn put(t: &mut TopicTree, topic: &str, payload: &str, at: u64) -> Option<NodeId> {
    t.insert(
        topic,
        &Bytes::copy_from_slice(payload.as_bytes()),
        QoS::AtMostOnce,
        false,
        at,
    )
}

fn names(t: &TopicTree, search: &str) -> Vec<String> {
    t.rows(search)
        .iter()
        .map(|r| {
            format!(
                "{}{}",
                "  ".repeat(usize::from(r.depth) - 1),
                t.node(r.id).unwrap().name
            )
        })
        .collect()
}

#[test]
fn levels_counts_and_last_values() {
    let mut t = TopicTree::default();
    put(&mut t, "house/room1/temp", "21.5", 1);
    put(&mut t, "house/room1/temp", "21.7", 2);
    put(&mut t, "house/room1/hum", "40", 3);
    put(&mut t, "house", "root value", 4);
    let temp = t.find("house/room1/temp").unwrap();
    let n = t.node(temp).unwrap();
    assert_eq!(n.messages, 2);
    assert_eq!(&n.last().unwrap().payload[..], b"21.7");
    assert_eq!(&n.previous().unwrap().payload[..], b"21.5");
    let house = t.node(t.find("house").unwrap()).unwrap();
    assert_eq!(
        (house.messages, house.subtree_messages, house.subtree_topics),
        (1, 4, 3)
    );
    assert_eq!((t.topics(), t.messages(), t.levels()), (3, 4, 4));
    assert_eq!(t.topic(temp), "house/room1/temp");
    assert_eq!(t.find("house/room2"), None);
}

#[test]
fn rows_are_depth_first_in_name_order_and_follow_expansion() {
    let mut t = TopicTree::default();
    for topic in ["b/2", "a/z/deep", "a/y", "b/1"] {
        put(&mut t, topic, "x", 0);
    }
    // Top levels start open, deeper ones closed.
    assert_eq!(names(&t, ""), ["a", "  y", "  z", "b", "  1", "  2"]);
    let z = t.find("a/z").unwrap();
    t.set_expanded(z, true);
    assert_eq!(names(&t, "")[3], "    deep");
    t.expand_all(false);
    assert_eq!(names(&t, ""), ["a", "b"]);
    let rows = t.rows("");
    assert_eq!(
        (
            rows[1].pos,
            rows[1].of,
            rows[1].has_children,
            rows[1].expanded
        ),
        (2, 2, true, false)
    );
    t.expand_all(true);
    assert_eq!(t.rows("").len(), 7);
}

#[test]
fn search_shows_matches_their_ancestors_and_what_is_below_a_match() {
    let mut t = TopicTree::default();
    for topic in [
        "house/kitchen/temp",
        "house/garage/door",
        "garden/Temp",
        "other/x",
    ] {
        put(&mut t, topic, "1", 0);
    }
    t.expand_all(false);
    assert_eq!(
        names(&t, "TEMP"),
        ["garden", "  Temp", "house", "  kitchen", "    temp"]
    );
    assert_eq!(names(&t, "garage"), ["house", "  garage", "    door"]);
    assert_eq!(
        names(&t, "house/g"),
        ["house", "  garage", "    door"],
        "across levels"
    );
    assert!(names(&t, "nothing").is_empty());
    assert_eq!(
        names(&t, "  "),
        ["garden", "house", "other"],
        "blank is no search"
    );
}

#[test]
fn empty_levels_and_very_deep_topics_work() {
    let mut t = TopicTree::default();
    put(&mut t, "/a//b", "x", 0);
    let id = t.find("/a//b").unwrap();
    assert_eq!(t.topic(id), "/a//b");
    assert_eq!(t.node(id).unwrap().depth, 4);
    let deep = vec!["l"; 20_000].join("/");
    put(&mut t, &deep, "x", 0);
    t.expand_all(true);
    assert_eq!(t.rows("").len(), 4 + 20_000);
    assert_eq!(t.rows("l/l/l").len(), 20_000);
}

#[test]
fn history_is_bounded_per_topic_and_values_are_cut() {
    let mut t = TopicTree::default();
    for i in 0..HISTORY + 5 {
        put(&mut t, "t", &i.to_string(), i as u64);
    }
    let n = t.node(t.find("t").unwrap()).unwrap();
    assert_eq!(n.history.len(), HISTORY);
    assert_eq!(&n.history.front().unwrap().payload[..], b"5");
    let big = Bytes::from(vec![b'x'; VALUE_BYTES + 10]);
    let id = t.insert("big", &big, QoS::AtLeastOnce, true, 0).unwrap();
    let v = t.node(id).unwrap().last().unwrap().clone();
    assert_eq!(
        (v.payload.len(), v.size, v.is_cut()),
        (VALUE_BYTES, VALUE_BYTES + 10, true)
    );
}

#[test]
fn all_values_together_are_bounded_oldest_first() {
    let mut t = TopicTree::default();
    let chunk = Bytes::from(vec![0u8; VALUE_BYTES]);
    let topics = MAX_VALUE_BYTES / VALUE_BYTES + 10;
    for i in 0..topics {
        t.insert(&format!("t/{i}"), &chunk, QoS::AtMostOnce, false, 0);
    }
    assert!(t.value_bytes() <= MAX_VALUE_BYTES);
    let first = t.node(t.find("t/0").unwrap()).unwrap();
    assert!(first.last().is_none(), "the oldest value went first");
    assert_eq!(first.messages, 1, "counts stay");
    let newest = t
        .node(t.find(&format!("t/{}", topics - 1)).unwrap())
        .unwrap();
    assert!(newest.last().is_some());
}

#[test]
fn the_number_of_levels_is_capped() {
    let mut t = TopicTree::default();
    for i in 0..MAX_NODES {
        put(&mut t, &i.to_string(), "x", 0);
    }
    assert_eq!(t.levels(), MAX_NODES - 1);
    assert_eq!(t.over_cap(), 1);
    assert!(
        put(&mut t, "0", "still fits", 0).is_some(),
        "known topics still update"
    );
}

#[test]
fn retained_badge_follows_the_last_message_mqtt_3_3_1_10() {
    let mut t = TopicTree::default();
    let id = t
        .insert("r", &Bytes::from_static(b"on"), QoS::AtMostOnce, true, 0)
        .unwrap();
    assert!(t.node(id).unwrap().retained);
    t.insert("r", &Bytes::new(), QoS::AtMostOnce, true, 0);
    assert!(
        !t.node(id).unwrap().retained,
        "an empty retained message clears it"
    );
    t.insert("r", &Bytes::from_static(b"on"), QoS::AtMostOnce, true, 0);
    t.clear_retained(id);
    assert!(!t.node(id).unwrap().retained);
}

#[test]
fn selecting_opens_the_ancestors() {
    let mut t = TopicTree::default();
    let id = put(&mut t, "a/b/c/d", "x", 0).unwrap();
    t.expand_all(false);
    t.select(Some(id));
    assert_eq!(t.selected(), Some(id));
    assert_eq!(names(&t, "").len(), 4);
    t.select(Some(0));
    assert_eq!(t.selected(), None, "the root is not selectable");
    t.clear();
    assert_eq!((t.topics(), t.levels()), (0, 0));
}
