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
    fn config_never_panics_and_every_error_names_a_setting(
        vars in prop::collection::hash_map(
            prop::sample::select(settings()),
            prop_oneof![
                ".{0,40}",
                json_value().prop_map(|v| v.to_string()),
                prop::sample::select(settings()).prop_map(|var| good(var).to_string()),
                Just(r#"[{"instance_id":"i-1234567890abcdef0","zone_id":"Z1","name":"a.example.com"}]"#.to_string()),
            ],
            0..12,
        )
    ) {
        let map: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Err(e) = Config::from_lookup(|k| map.get(k).cloned()) {
            prop_assert!(!e.0.is_empty());
            for line in &e.0 {
                prop_assert!(settings().contains(&named(line)), "{}", line);
            }
        }
    }

    #[test]
    fn one_bad_setting_among_good_ones_is_the_one_named(
        (var, value) in prop::sample::select(settings()).prop_flat_map(|var| {
            let bad = prop::sample::select(bad(var).to_vec()).prop_map(str::to_string);
            (Just(var), prop_oneof![bad, ".{0,40}"])
        })
    ) {
        let mut map = settings_beside(var);
        map.insert(var, value.clone());
        let result = Config::from_lookup(|k| map.get(k).cloned());
        if bad(var).contains(&value.as_str()) {
            prop_assert!(result.is_err(), "{} = {:?} was taken", var, value);
        }
        // A blank value is no value: the webhook's URL is then missing, said as DDNS_WEBHOOK_URL.
        let unset = value.trim().is_empty() && ["WEBHOOK_URL", "DDNS_WEBHOOK_URL_PARAMETER"].contains(&var);
        let expected = if unset { "DDNS_WEBHOOK_URL" } else { var };
        if let Err(e) = result {
            for line in &e.0 {
                prop_assert_eq!(named(line), expected, "{} = {:?}: {}", var, value, line);
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

/// Every setting the function reads, each with a good value and values that must be refused.
/// The shorthand and the SSM parameter forms cannot stand beside their long forms, so each
/// setting is tried among the settings it can stand beside (see [`settings_beside`]).
const TABLE: &[(&str, &str, &[&str])] = &[
    (
        "DDNS_RECORDS",
        r#"[{"instance_id":"i-1234567890abcdef0","zone_id":"Z1","name":"a.example.com","types":["A","AAAA"]}]"#,
        &["[]", "{}", r#"[{"instance_id":"i-1","zone_id":"Z1","name":"a.example.com"}]"#],
    ),
    ("INSTANCE_ID", "i-1234567890abcdef0", &["i-", "1234567890abcdef0"]),
    ("HOSTED_ZONE_ID", "Z1", &["z-1", "Z 1"]),
    ("RECORD_NAME", "a.example.com,b.example.com", &["a.example.com,,b.example.com", "a..example.com"]),
    ("DDNS_TTL", "60", &["0", "-5", "sixty"]),
    ("DDNS_ON_STOP", "keep", &["remove"]),
    (
        "DDNS_TARGETS",
        r#"[{"account_id":"111122223333","role_arn":"arn:aws:iam::111122223333:role/ddns","regions":["eu-west-1"]}]"#,
        &[
            "[1]",
            r#"[{"account_id":"1111","role_arn":"arn:aws:iam::111122223333:role/ddns","regions":["eu-west-1"]}]"#,
            r#"[{"account_id":"111122223333","role_arn":"arn:aws:iam::111122223333:role/ddns","regions":[]}]"#,
        ],
    ),
    ("DDNS_ROUTE53_ROLE_ARN", "arn:aws:iam::444455556666:role/dns", &["role/dns", "arn:aws:iam::444455556666:user/u"]),
    ("DDNS_GROUP_MAX", "4", &["0", "eight", "100000"]),
    ("DDNS_ALERT_ON", "problems", &["some"]),
    ("DDNS_OWNER_ID", "prod-eu", &["prod eu", "owner,id"]),
    ("DDNS_LEGACY_OWNER_ID", "old-stack", &["old stack"]),
    ("DDNS_TIMEOUT", "45s", &["0", "1h", "soon"]),
    ("DDNS_ALERT_REPEAT", "6h", &["6 hours", "-1"]),
    ("DDNS_INCIDENTS_PARAMETER", "/ddns/incidents", &["no spaces allowed", "ddns/incidents"]),
    ("DDNS_ALERT_AFTER", "5m", &["5 minutes"]),
    ("DDNS_FULL_READ", "1h", &["hourly"]),
    ("DDNS_TAG_KEY", "ddns:name", &["aws:name"]),
    ("DDNS_GROUP_TAG_KEY", "ddns:group", &["aws:group", "ddns:name"]),
    ("DDNS_TAG_TYPES", "A,AAAA", &["MX", "A,,AAAA"]),
    ("DDNS_ZONES", "Z1,Z2", &["z1", "Z1,,Z2"]),
    ("DDNS_TAG_SUFFIXES", "example.com", &["*.example.com", "a..b"]),
    ("DDNS_TAG_ALLOW_WILDCARDS", "true", &["yes"]),
    ("DDNS_TAG_ADDRESS", "public", &["elastic"]),
    ("DDNS_WEBHOOK_URL", "https://hooks.example.com/x", &["http://hooks.example.com/x", "not a url"]),
    ("WEBHOOK_URL", "https://hooks.example.com/old", &["http://hooks.example.com/x", "not a url"]),
    ("DDNS_WEBHOOK_URL_PARAMETER", "/ddns/webhook-url", &["no spaces allowed"]),
    ("DDNS_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef", &["short"]),
    ("DDNS_WEBHOOK_SECRET_PARAMETER", "/ddns/webhook-secret", &["no spaces allowed"]),
    ("DDNS_WEBHOOK_FORMAT", "slack", &["teams"]),
];

/// The settings' names.
fn settings() -> Vec<&'static str> {
    TABLE.iter().map(|r| r.0).collect()
}

fn row(var: &str) -> &'static (&'static str, &'static str, &'static [&'static str]) {
    TABLE.iter().find(|r| r.0 == var).expect("a setting of the table")
}

fn good(var: &str) -> &'static str {
    row(var).1
}

fn bad(var: &str) -> &'static [&'static str] {
    row(var).2
}

/// The setting an error line names: what comes before its first `:`, `[` or `.`.
fn named(line: &str) -> &str {
    line.split([':', '[', '.']).next().unwrap_or_default()
}

/// Good values of every setting that can stand beside `var`: the shorthand or DDNS_RECORDS,
/// one form of the webhook URL and one of its secret.
fn settings_beside(var: &'static str) -> HashMap<&'static str, String> {
    let shorthand = ["INSTANCE_ID", "HOSTED_ZONE_ID", "RECORD_NAME"].contains(&var);
    let url = match var {
        "WEBHOOK_URL" | "DDNS_WEBHOOK_URL_PARAMETER" => var,
        _ => "DDNS_WEBHOOK_URL",
    };
    let secret = if var == "DDNS_WEBHOOK_SECRET_PARAMETER" { var } else { "DDNS_WEBHOOK_SECRET" };
    let left_out = |v: &str| match v {
        "INSTANCE_ID" | "HOSTED_ZONE_ID" | "RECORD_NAME" => !shorthand,
        "DDNS_RECORDS" => shorthand,
        "DDNS_WEBHOOK_URL" | "WEBHOOK_URL" | "DDNS_WEBHOOK_URL_PARAMETER" => v != url,
        "DDNS_WEBHOOK_SECRET" | "DDNS_WEBHOOK_SECRET_PARAMETER" => v != secret,
        _ => false,
    };
    TABLE.iter().filter(|r| !left_out(r.0)).map(|r| (r.0, r.1.to_string())).collect()
}

#[test]
fn the_settings_beside_each_setting_are_taken_as_they_are() {
    let mut names = settings();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), TABLE.len(), "every setting is in the table once");
    for var in settings() {
        let map = settings_beside(var);
        assert!(map.contains_key(var), "{var}");
        if let Err(e) = Config::from_lookup(|k| map.get(k).cloned()) {
            panic!("beside {var}: {e:?}");
        }
    }
}
