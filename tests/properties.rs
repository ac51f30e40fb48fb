//! Property tests: no input panics the event or config parsers, and every rejection says what
//! was wrong.

mod support;

use std::collections::HashMap;

use dynamic_dns_updater::config::Config;
use dynamic_dns_updater::event;
use dynamic_dns_updater::names::RecordName;
use proptest::prelude::*;
use serde_json::{Value, json};
use support::fixture;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("aws.ec2"),
            Just("aws.events"),
            Just("EC2 Instance State-change Notification"),
            Just("Scheduled Event"),
            Just("running"),
            Just("reconcile"),
            Just("i-1234567890abcdef0")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    let keys = prop_oneof![
        Just("source".to_string()),
        Just("detail-type".to_string()),
        Just("detail".to_string()),
        Just("instance-id".to_string()),
        Just("state".to_string()),
        Just("action".to_string()),
        Just("instance_ids".to_string()),
        Just("dry_run".to_string()),
        Just("time".to_string()),
        Just("resources".to_string()),
        "[a-z-]{1,8}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Real address events with one field of their detail replaced by anything.
fn mutated_detail() -> impl Strategy<Value = Value> {
    let fixtures =
        ["api-call-associate-address.json", "api-call-assign-ipv6-addresses.json", "spot-interruption-warning.json"];
    let fields = vec!["eventName", "eventSource", "errorCode", "requestParameters", "instance-id", "instance-action"];
    (0..fixtures.len(), prop::sample::select(fields), json_value()).prop_map(move |(i, field, value)| {
        let mut e = fixture(fixtures[i]);
        e["detail"][field] = value;
        e
    })
}

/// Real events with one field replaced by anything.
fn mutated_fixture() -> impl Strategy<Value = Value> {
    let fixtures = [
        "ec2-state-change-running.json",
        "scheduled-event.json",
        "tag-change-on-resource.json",
        "api-call-associate-address.json",
        "api-call-disassociate-address.json",
        "api-call-assign-ipv6-addresses.json",
        "spot-interruption-warning.json",
        "rebalance-recommendation.json",
    ];
    (
        0..fixtures.len(),
        prop::sample::select(vec!["source", "detail-type", "detail", "time", "resources", "account"]),
        json_value(),
    )
        .prop_map(move |(i, field, value)| {
            let mut e = fixture(fixtures[i]);
            e[field] = value;
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn events_never_panic_and_rejections_say_what_arrived(v in prop_oneof![json_value(), mutated_fixture(), mutated_detail()]) {
        if let Err(e) = event::parse(&v) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("unsupported event: "), "{}", msg);
            prop_assert!(msg.contains("received "), "{}", msg);
        }
    }

    #[test]
    fn config_never_panics_and_every_error_names_a_variable(
        vars in prop::collection::hash_map(
            prop::sample::select(vec![
                "DDNS_RECORDS", "INSTANCE_ID", "HOSTED_ZONE_ID", "RECORD_NAME", "DDNS_TTL", "DDNS_ON_STOP",
                "DDNS_WEBHOOK_URL", "WEBHOOK_URL", "DDNS_WEBHOOK_URL_PARAMETER", "DDNS_WEBHOOK_SECRET",
                "DDNS_WEBHOOK_SECRET_PARAMETER", "DDNS_WEBHOOK_FORMAT",
            ]),
            prop_oneof![
                ".{0,40}",
                json_value().prop_map(|v| v.to_string()),
                Just(r#"[{"instance_id":"i-1234567890abcdef0","zone_id":"Z1","name":"a.example.com"}]"#.to_string()),
            ],
            0..8,
        )
    ) {
        let map: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Err(e) = Config::from_lookup(|k| map.get(k).cloned()) {
            prop_assert!(!e.0.is_empty());
            for line in &e.0 {
                let var = line.split([':', '[']).next().unwrap_or_default();
                prop_assert!(var.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !var.is_empty(), "{}", line);
            }
        }
    }

    #[test]
    fn names_parse_to_one_stored_form(label in "[a-zA-Z0-9_-]{1,20}", upper in any::<bool>(), dot in any::<bool>()) {
        let written = format!("{label}.Example.com{}", if dot { "." } else { "" });
        let written = if upper { written.to_uppercase() } else { written };
        let name = RecordName::parse(&written).unwrap();
        prop_assert_eq!(name.as_str(), format!("{}.example.com.", label.to_lowercase()));
        prop_assert_eq!(RecordName::parse(name.as_str()).unwrap(), name);
    }
}
