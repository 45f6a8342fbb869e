use super::*;
use crate::model::trace::TraceLog;
use crate::model::trace::tests::tapped;
use crate::mqtt::tap::Direction;
use tern_codec::{Packet, Pid, PubResp};

fn msg(topic: &str, payload: &[u8], qos: QoS, retain: bool) -> Message {
    Message {
        id: 1,
        at_ms: 1_712_345_678_901,
        topic: topic.into(),
        qos,
        retain,
        dup: false,
        payload: Bytes::copy_from_slice(payload),
        color: None,
        filter: None,
        properties: Props::none(),
    }
}

#[test]
fn messages_round_trip_through_json_lines() {
    let mut with_props = msg("a/\"b\"", "21.5 °C\n".as_bytes(), QoS::AtLeastOnce, true);
    with_props.properties = PublishProperties {
        content_type: Some("text/plain".into()),
        message_expiry_interval: Some(60),
        correlation_data: Some(Bytes::from_static(&[0, 255])),
        user_properties: vec![("unit".into(), "C".into()), ("unit".into(), "F".into())],
        ..Default::default()
    }
    .into();
    let binary = msg("bin", &[0xff, 0x00, 0x80], QoS::ExactlyOnce, false);
    let text = messages_jsonl([&with_props, &binary]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with(r#"{"timestamp":1712345678901,"topic":"a/\"b\"","qos":1,"retain":true,"payload":"21.5 °C\n","encoding":"utf-8","properties":{"#), "{}", lines[0]);
    assert!(
        lines[1].contains(r#""payload":"/wCA","encoding":"base64""#),
        "{}",
        lines[1]
    );
    let back = parse_jsonl(&text).unwrap();
    assert_eq!(back[0].topic.as_str(), "a/\"b\"");
    assert_eq!(&back[0].payload[..], "21.5 °C\n".as_bytes());
    assert_eq!(
        (back[0].qos, back[0].retain, back[0].timestamp),
        (QoS::AtLeastOnce, true, 1_712_345_678_901)
    );
    assert_eq!(
        back[0].properties.content_type.as_deref(),
        Some("text/plain")
    );
    assert_eq!(
        back[0].properties.correlation_data.as_deref(),
        Some(&[0u8, 255][..])
    );
    assert_eq!(back[0].properties.user_properties.len(), 2);
    assert_eq!(&back[1].payload[..], &[0xff, 0x00, 0x80]);
    assert_eq!(back[1].qos, QoS::ExactlyOnce);
}

#[test]
fn csv_quotes_what_needs_it_rfc_4180() {
    let m = msg("t", b"a,\"b\"\nc", QoS::AtMostOnce, false);
    let csv = messages_csv([&m]);
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("timestamp,topic,qos,retain,encoding,payload,properties")
    );
    assert_eq!(
        lines.next(),
        Some("1712345678901,t,0,false,utf-8,\"a,\"\"b\"\"\nc\",")
    );
}

#[test]
fn bad_files_say_which_line() {
    assert_eq!(
        parse_jsonl("\n{\"topic\":\"a\"}\n{oops").unwrap_err(),
        "Line 3: not JSON (expected a member name in quotes at byte 1)."
    );
    assert_eq!(
        parse_jsonl("{\"payload\":\"x\"}").unwrap_err(),
        "Line 1: no \"topic\"."
    );
    assert!(
        parse_jsonl("{\"topic\":\"a/+\"}")
            .unwrap_err()
            .contains("bad topic")
    );
    assert!(
        parse_jsonl("{\"topic\":\"a\",\"qos\":3}")
            .unwrap_err()
            .contains("qos must be")
    );
    assert!(parse_jsonl(" \n").is_err());
}

#[test]
fn the_trace_exports_every_packet_with_its_bytes() {
    let mut t = TraceLog::default();
    t.push(tapped(Direction::Sent, 5, Packet::PingReq));
    t.push(tapped(
        Direction::Received,
        9,
        Packet::PubAck(PubResp::new(Pid::new(7).unwrap())),
    ));
    let jl = trace_jsonl(t.iter(false));
    let lines: Vec<&str> = jl.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"seq":1,"timestamp":5,"direction":"sent","type":"PINGREQ","packet_id":null,"flags":"","reason":"","size":2,"detail":"are you there?","hex":"c000"}"#
    );
    assert!(
        lines[1].contains(r#""type":"PUBACK","packet_id":7"#)
            && lines[1].contains(r#""hex":"40020007""#)
    );
    let csv = trace_csv(t.iter(false));
    assert!(csv.starts_with(
        "seq,timestamp,direction,type,packet_id,flags,reason,size,detail,hex\r\n1,5,sent,PINGREQ,"
    ));
}
