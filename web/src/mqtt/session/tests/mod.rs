//! Native tests of the client protocol state machine. Each test names the rule it checks.

use super::*;
use tern_codec::{ConnAck, ConnAckProperties, DisconnectProperties, SubAck, UnsubAck};

fn opts(version: Version, clean: bool) -> ConnectOptions {
    ConnectOptions {
        version,
        client_id: "c1".into(),
        clean_session: clean,
        keep_alive: 60,
        username: None,
        password: None,
        will: None,
        session_expiry: 300,
    }
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn pid(n: u16) -> Pid {
    Pid::new(n).unwrap()
}

fn connack(session_present: bool) -> Packet {
    Packet::ConnAck(ConnAck::new(session_present, ReasonCode::Success))
}

/// A session connected with the given options; the CONNECT is already taken.
fn connected(version: Version, clean: bool) -> Session {
    let mut s = Session::new();
    s.start(&opts(version, clean), 0);
    assert!(matches!(s.take_outgoing(0)[..], [Packet::Connect(_)]));
    s.handle(connack(false), 0).unwrap();
    s
}

fn publish_in(qos_pid: QosPid, dup: bool) -> Packet {
    let mut p = Publish::new(topic("a/b"), qos_pid, Bytes::from_static(b"x"));
    p.dup = dup;
    Packet::Publish(p)
}

mod connection;
mod flows;
mod versions;
