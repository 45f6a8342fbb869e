use super::*;

fn page(https: bool, hostname: &str, port: &str) -> PageLocation {
    PageLocation {
        https,
        hostname: hostname.into(),
        port: port.into(),
    }
}

fn base() -> Settings {
    Settings::defaults(&page(false, "127.0.0.1", "8080"), "tern-abc".into())
}

fn pairs(q: &str) -> Vec<(String, String)> {
    query::parse(q)
}

#[test]
fn defaults_follow_the_page_location() {
    let s = base();
    assert_eq!(s.ws_url(), "ws://127.0.0.1:8080/mqtt");
    let s = Settings::defaults(&page(true, "mqtt.school.org", ""), "x".into());
    assert_eq!(s.ws_url(), "wss://mqtt.school.org:443/mqtt");
    let s = Settings::defaults(&page(false, "", ""), "x".into());
    assert_eq!(s.ws_url(), "ws://localhost:80/mqtt");
    let s = Settings::defaults(&page(false, "::1", "9001"), "x".into());
    assert_eq!(s.ws_url(), "ws://[::1]:9001/mqtt");
}

#[test]
fn url_parameters_prefill_the_form() {
    let mut s = base();
    s.apply(&pairs(
        "?host=broker.lan&port=9001&path=ws&tls=1&version=5&sub=class%2F%23&sub=a/%2B&connect=1&topic=class/ann",
    ));
    assert_eq!(s.ws_url(), "wss://broker.lan:9001/ws");
    assert_eq!(s.version, Version::V5);
    let subs: Vec<&str> = s.subs.iter().map(|x| x.filter.as_str()).collect();
    assert_eq!(subs, ["class/#", "a/+"]);
    assert!(s.auto_connect);
    assert_eq!(s.publish_topic, "class/ann");
}

#[test]
fn stored_record_round_trips_without_the_password() {
    let mut s = base();
    s.username = "ann".into();
    s.password = "secret".into();
    s.clean_session = false;
    s.will_topic = "class/ann/status".into();
    s.will_qos = QoS::AtLeastOnce;
    s.subs = vec![SubSetting {
        filter: "e2e/#".into(),
        qos: QoS::ExactlyOnce,
        color: Some("#4363d8".into()),
    }];
    let stored = s.to_stored();
    assert!(!stored.contains("secret"));
    let mut back = base();
    back.apply(&pairs(&stored));
    let mut expect = s.clone();
    expect.password = String::new();
    assert_eq!(back, expect);

    s.remember_password = true;
    let mut back = base();
    back.apply(&pairs(&s.to_stored()));
    assert_eq!(back.password, "secret");
}

#[test]
fn share_link_has_broker_and_subscriptions_but_no_credentials() {
    let mut s = base();
    s.username = "teacher".into();
    s.subs = vec![SubSetting {
        filter: "class/#".into(),
        qos: QoS::AtMostOnce,
        color: None,
    }];
    s.password = "chalk-42".into();
    s.remember_password = true;
    s.subs.push(SubSetting {
        filter: "class/+/temp".into(),
        qos: QoS::ExactlyOnce,
        color: None,
    });
    let q = s.share_query();
    assert!(
        q.contains("sub=class/%23&sub_qos=0&sub=class/%2B/temp&sub_qos=2"),
        "{q}"
    );
    assert!(q.contains("host=127.0.0.1") && q.ends_with("connect=1"));
    assert!(!q.contains("teacher") && !q.contains("tern-abc") && !q.contains("chalk"));
    // The link opens a page with the same subscriptions and QoS.
    let mut opened = base();
    opened.apply(&query::parse(&q));
    assert_eq!(
        opened.subs,
        s.subs
            .iter()
            .map(|x| SubSetting {
                color: None,
                ..x.clone()
            })
            .collect::<Vec<_>>()
    );
    assert!(opened.auto_connect);
}

#[test]
fn max_that_is_empty_or_not_a_number_keeps_the_default() {
    for bad in ["", "abc", "0", "-5"] {
        let mut s = base();
        s.apply(&query::parse(&format!("?max={bad}")));
        assert_eq!(
            s.capacity(),
            crate::state::messages::DEFAULT_CAPACITY,
            "{bad:?}"
        );
    }
    let mut s = base();
    s.apply(&query::parse("?max=25"));
    assert_eq!(s.capacity(), 25);
}

#[test]
fn validate_builds_connect_options() {
    let mut s = base();
    s.username = "u".into();
    s.password = "p".into();
    s.will_topic = "w/t".into();
    s.will_message = "bye".into();
    s.keep_alive = "15".into();
    let t = s.validate(false).unwrap();
    assert_eq!(t.url, "ws://127.0.0.1:8080/mqtt");
    assert_eq!(t.options.keep_alive, 15);
    assert_eq!(t.options.username.as_deref(), Some("u"));
    let will = t.options.will.unwrap();
    assert_eq!(
        (will.topic.as_str(), &will.payload[..]),
        ("w/t", &b"bye"[..])
    );
}

#[test]
fn https_page_asking_for_ws_is_explained() {
    let s = base();
    let errs = s.validate(true).unwrap_err();
    assert_eq!(errs[0].field, "tls");
    assert!(errs[0].message.contains("https"));
}

#[test]
fn bad_fields_are_reported_in_words() {
    let mut s = base();
    s.host = "ws://x/y".into();
    s.port = "99999".into();
    s.keep_alive = "-1".into();
    s.will_topic = "a/#".into();
    s.client_id = String::new();
    s.clean_session = false;
    s.password = "p".into();
    let fields: Vec<&str> = s
        .validate(false)
        .unwrap_err()
        .iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "host",
            "port",
            "keepalive",
            "client_id",
            "username",
            "will_topic"
        ]
    );
}

#[test]
fn v5_allows_empty_client_id_and_password_only() {
    let mut s = base();
    s.version = Version::V5;
    s.client_id = String::new();
    s.clean_session = false;
    s.password = "token".into();
    assert!(s.validate(false).is_ok());
}

#[test]
fn mqtt_3_1_client_id_is_1_to_23_characters_even_with_clean_session() {
    let mut s = base();
    s.version = Version::V3_1;
    for (id, ok) in [
        ("", false),
        ("a", true),
        ("abcdefghijklmnopqrstuvw", true),   // 23
        ("abcdefghijklmnopqrstuvwx", false), // 24
        ("tern-abcdefgh", true),             // what New ID makes
    ] {
        s.client_id = id.into();
        let r = s.validate(false);
        assert_eq!(r.is_ok(), ok, "{id:?}");
        if let Err(e) = r {
            assert_eq!(e[0].field, "client_id");
            assert!(e[0].message.contains("1 to 23"), "{}", e[0].message);
        }
    }
    s.client_id = "ok".into();
    s.password = "p".into();
    let e = s.validate(false).unwrap_err();
    assert_eq!(
        e[0].message,
        "MQTT 3.1 needs a user name when a password is given."
    );
    s.username = "u".into();
    assert_eq!(s.validate(false).unwrap().options.version, Version::V3_1);
}

#[test]
fn version_3_1_round_trips_through_links_and_storage() {
    let mut s = base();
    s.apply(&pairs("?version=3.1"));
    assert_eq!(s.version, Version::V3_1);
    assert!(s.share_query().contains("version=3.1&") || s.share_query().ends_with("version=3.1"));
    let mut back = base();
    back.apply(&pairs(&s.to_stored()));
    assert_eq!(back.version, Version::V3_1);
    for v in [Version::V3_1, Version::V3_1_1, Version::V5] {
        assert_eq!(parse_version(version_str(v)), Some(v));
    }
    assert_eq!(parse_version("3.2"), None);
}

#[test]
fn publish_topic_rules_mqtt_4_7_1_1_and_4_7_3_1() {
    assert!(check_topic_name("").unwrap_err().contains("Enter a topic"));
    assert!(check_topic_name("a/+").unwrap_err().contains("Wildcards"));
    assert!(check_topic_name("a/#").unwrap_err().contains("Wildcards"));
    assert_eq!(check_topic_name("a/b").unwrap().as_str(), "a/b");
    assert!(check_topic_filter("a/#/b").is_err());
    assert!(check_topic_filter("a+").is_err());
    assert!(check_topic_filter("").is_err());
    assert_eq!(check_topic_filter("a/+/#").unwrap().as_str(), "a/+/#");
}

#[test]
fn random_client_ids_are_well_formed() {
    let mut n = 0.0;
    let id = random_client_id(|| {
        n += 0.1;
        n % 1.0
    });
    assert_eq!(id.len(), 13);
    assert!(id.starts_with("tern-"));
    assert!(
        id[5..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    assert_ne!(random_client_id(|| 0.0), random_client_id(|| 0.99));
}
