use bytes::Bytes;
use tern_codec::{Packet, Pid, PubResp, Publish, QosPid, TopicName, Version};

use super::*;
use crate::mqtt::tap::{Direction, Tapped};

pub(crate) fn tapped(dir: Direction, at_ms: u64, packet: Packet) -> Tapped {
    tapped_in(Version::V3_1_1, dir, at_ms, packet)
}

/// A packet as the tap records it, with its real encoding in `version`.
pub(crate) fn tapped_in(version: Version, dir: Direction, at_ms: u64, packet: Packet) -> Tapped {
    let mut raw = bytes::BytesMut::new();
    tern_codec::encode(&packet, version, &mut raw).unwrap();
    Tapped {
        dir,
        at_ms,
        version,
        packet,
        raw: raw.freeze(),
    }
}

fn publish(payload: Vec<u8>) -> Packet {
    Packet::Publish(Publish::new(
        TopicName::new("a/b").unwrap(),
        QosPid::AtLeastOnce(Pid::new(1).unwrap()),
        Bytes::from(payload),
    ))
}

fn seqs(page: &TracePage) -> Vec<u64> {
    page.rows.iter().map(|e| e.seq).collect()
}

#[test]
fn packets_are_numbered_in_order_with_the_gap_to_the_previous_one() {
    let mut t = TraceLog::default();
    t.push(tapped(Direction::Sent, 1_000, Packet::PingReq));
    t.push(tapped(Direction::Received, 1_030, Packet::PingResp));
    t.push(tapped(Direction::Received, 1_030, publish(vec![1])));
    let all: Vec<(u64, u64)> = t.iter(false).map(|e| (e.seq, e.delta_ms)).collect();
    assert_eq!(all, [(1, 0), (2, 30), (3, 0)]);
    assert_eq!(t.next_seq(), 4);
}

#[test]
fn pings_can_be_hidden() {
    let mut t = TraceLog::default();
    t.push(tapped(Direction::Sent, 0, Packet::PingReq));
    t.push(tapped(Direction::Received, 0, publish(vec![])));
    t.push(tapped(Direction::Received, 0, Packet::PingResp));
    assert_eq!(t.iter(true).count(), 1);
    assert_eq!(seqs(&t.page(true, None, 10)), [2]);
    assert_eq!(seqs(&t.page(false, None, 10)), [1, 2, 3]);
}

#[test]
fn count_is_bounded_and_drops_are_counted() {
    let mut t = TraceLog::default();
    for i in 0..MAX_ENTRIES + 7 {
        t.push(tapped(Direction::Sent, i as u64, Packet::PingReq));
    }
    assert_eq!(t.len(), MAX_ENTRIES);
    assert_eq!(t.dropped(), 7);
    assert_eq!(
        t.iter(false).next().unwrap().seq,
        8,
        "the oldest went first"
    );
}

#[test]
fn bytes_are_bounded_too() {
    let mut t = TraceLog::default();
    for _ in 0..4 {
        t.push(tapped(
            Direction::Received,
            0,
            publish(vec![0; MAX_BYTES / 6]),
        ));
    }
    // Each weighs about a third of the budget (wire bytes + the decoded payload).
    assert_eq!(t.len(), 2);
    assert_eq!(t.dropped(), 2);
    t.clear();
    assert!(t.is_empty());
    assert_eq!(t.dropped(), 0);
    t.push(tapped(Direction::Sent, 0, Packet::PingReq));
    assert_eq!(
        t.iter(false).next().unwrap().seq,
        5,
        "numbers are never reused"
    );
}

#[test]
fn pages_are_windows_ending_at_an_anchor() {
    let mut t = TraceLog::default();
    for i in 0..10 {
        let p = if i % 2 == 0 {
            Packet::PingReq
        } else {
            Packet::PubAck(PubResp::new(Pid::new(i).unwrap()))
        };
        t.push(tapped(Direction::Sent, 0, p));
    }
    let newest = t.page(false, None, 3);
    assert_eq!(seqs(&newest), [8, 9, 10]);
    assert_eq!((newest.older, newest.newer), (7, 0));
    let older = t.page(false, Some(7), 3);
    assert_eq!(seqs(&older), [5, 6, 7]);
    assert_eq!((older.older, older.newer), (4, 3));
    let no_pings = t.page(true, Some(7), 2);
    assert_eq!(seqs(&no_pings), [4, 6]);
    assert_eq!((no_pings.older, no_pings.newer), (1, 2));
    assert_eq!(seqs(&t.page(false, Some(0), 3)), Vec::<u64>::new());
    assert_eq!(t.since(9).len(), 2);
}
