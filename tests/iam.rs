//! Every request the function sends is one its IAM policy allows. For each mode (static, fleet,
//! both in one zone; type changes, removed names, markers, wildcards, a release), the module's
//! policy is rendered with `terraform plan` against moto, the function's real requests are
//! recorded as it runs against the same moto, and each request is evaluated against the policy.
//! Narrowing a statement must make the evaluation fail.

mod support;

use dynamic_dns_updater::app::App;
use serde_json::{Value, json};
use support::iam::{self, Request, allows, like, narrowed};
use support::record::Recorder;
use support::terraform::Module;
use support::*;

struct Lab {
    moto: Moto,
    aws: Aws,
    module: Module,
    recorder: Recorder,
    zone: String,
}

impl Lab {
    async fn start() -> Self {
        let moto = Moto::start();
        let aws = moto.aws().await;
        let zone = aws.zone("example.com").await;
        let module = Module::init(&moto);
        Self { moto, aws, module, recorder: Recorder::default(), zone }
    }

    /// The function with `vars`, recording its requests.
    async fn app(&self, vars: &[(&str, &str)]) -> App {
        let clients = self.recorder.clients(&self.moto.sdk().await);
        let mut vars = vars.to_vec();
        vars.push(("DDNS_OWNER_ID", "iam-test"));
        app_with(clients, &vars).await
    }

    /// Runs `event`, and holds every request it sent against `policy`; returns them.
    async fn sent(&self, app: &App, event: &Value, policy: &Value, step: &str) -> Vec<Request> {
        let r = invoke(app, event).await.unwrap_or_else(|e| panic!("{step}: {e}"));
        assert_eq!((r["errors"].clone(), r["problems"].clone()), (json!([]), json!([])), "{step}: {r}");
        let sent = self.recorder.take();
        // Every step of these scenarios writes: a step that sent nothing would prove nothing.
        assert!(!sent.is_empty(), "{step}: no request was sent: {r}");
        for request in &sent {
            assert!(allows(policy, request), "{step}: the policy refuses {request:#?}\npolicy: {policy:#}");
        }
        sent
    }
}

fn fleet_inputs(zone: &str, types: &[&str], suffixes: &[&str], wildcards: bool) -> Value {
    json!({ "tag_key": TAG_KEY, "discovery_zone_ids": [zone], "discovery_record_types": types,
            "tag_suffixes": suffixes, "tag_allow_wildcards": wildcards })
}

fn denied(policy: &Value, sent: &[Request]) -> bool {
    sent.iter().any(|r| !iam::allows(policy, r))
}

#[test]
fn the_evaluator_reads_string_like_as_iam_does() {
    assert!(like("*.example.com", "a.example.com") && like("*.example.com", "\\052.example.com"));
    assert!(!like("*.example.com", "example.com") && like("_ddns-owner.*", "_ddns-owner.a.b"));
    assert!(like("a?c", "abc") && !like("a?c", "ac") && like("*", ""));
}

#[tokio::test]
async fn static_records_through_type_changes_a_removed_name_and_a_release() {
    let lab = Lab::start().await;
    let (id, _) = lab.aws.dual_stack_instance().await;
    let mapping =
        |name: &str, types: &[&str]| json!({"instance_id": id, "zone_id": lab.zone, "name": name, "types": types});
    let both = vec![
        mapping("app.example.com", &["A", "AAAA"]),
        mapping("www.example.com", &["A"]),
        mapping("*.app.example.com", &["A"]),
    ];
    let policy = lab.module.policy(&json!({ "records": both }));
    let records = Value::Array(both).to_string();
    let app = lab.app(&[("DDNS_RECORDS", &records)]).await;
    let sent = lab.sent(&app, &sweep(), &policy, "create A, AAAA and markers").await;
    // A wildcard is written, and allowed, under the name IAM compares: `\052`, not `*`.
    let wildcard = |r: &Request| r.items.iter().any(|i| i.name == "\\052.app.example.com" && i.action == "CREATE");
    assert!(sent.iter().any(wildcard), "{sent:#?}");
    let names = policy.to_string();
    assert!(names.contains("\\\\052.app.example.com"), "the policy names the wildcard as IAM compares it: {policy:#}");
    lab.aws.stop(&id).await;
    lab.sent(&app, &state_change(&id, "stopped"), &policy, "delete on stop").await;
    lab.aws.start(&id).await;
    lab.sent(&app, &state_change(&id, "running"), &policy, "create again").await;

    // app.example.com drops AAAA, www.example.com goes: a new configuration, a new process.
    let one = vec![mapping("app.example.com", &["A"]), mapping("*.app.example.com", &["A"])];
    let policy = lab.module.policy(&json!({ "records": one }));
    let app = lab.app(&[("DDNS_RECORDS", &Value::Array(one).to_string())]).await;
    let sent = lab.sent(&app, &sweep(), &policy, "the dropped type and the removed name go").await;
    assert!(sent.iter().any(|r| r.items.iter().any(|i| i.rtype == "AAAA" && i.action == "DELETE")), "{sent:#?}");
    assert!(sent.iter().any(|r| r.items.iter().any(|i| i.name == "www.example.com")), "{sent:#?}");
    let without = narrowed(&policy, "DeleteReleasedAddresses", |s| {
        s["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"] = json!(["A"])
    });
    assert!(denied(&without, &sent), "narrowing DeleteReleasedAddresses must show");
    // The removed name's marker is no configured name's: only DeleteOwnMarkers covers it.
    let markers = narrowed(&policy, "DeleteOwnMarkers", |s| {
        s["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] =
            json!(["_other.*"])
    });
    assert!(denied(&markers, &sent), "narrowing DeleteOwnMarkers must show");
    lab.sent(&app, &json!({"action": "release"}), &policy, "release").await;
}

#[tokio::test]
async fn tagged_records_through_suffixes_type_changes_wildcards_untagging_and_a_release() {
    let lab = Lab::start().await;
    let (id, _) = lab.aws.dual_stack_instance().await;
    lab.aws.tag(&id, "web.dyn.example.com").await;
    let fleet = |types: &'static str, wildcards: &'static str| {
        vec![
            ("DDNS_TAG_KEY", TAG_KEY),
            ("DDNS_ZONES", lab.zone.as_str()),
            ("DDNS_TAG_TYPES", types),
            ("DDNS_TAG_SUFFIXES", "dyn.example.com"),
            ("DDNS_TAG_ALLOW_WILDCARDS", wildcards),
        ]
    };
    let policy = lab.module.policy(&fleet_inputs(&lab.zone, &["A", "AAAA"], &["dyn.example.com"], false));
    let app = lab.app(&fleet("A,AAAA", "false")).await;
    let sent = lab.sent(&app, &sweep(), &policy, "create A, AAAA and the marker").await;
    let tagged_types = narrowed(&policy, "ChangeTaggedRecords", |s| {
        s["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"] = json!(["A", "TXT"])
    });
    assert!(denied(&tagged_types, &sent), "narrowing ChangeTaggedRecords' types must show");

    let policy = lab.module.policy(&fleet_inputs(&lab.zone, &["A"], &["dyn.example.com"], true));
    let app = lab.app(&fleet("A", "true")).await;
    let sent = lab.sent(&app, &sweep(), &policy, "the tag types shrink to A: the AAAA goes").await;
    assert!(sent.iter().any(|r| r.items.iter().any(|i| i.rtype == "AAAA" && i.action == "DELETE")), "{sent:#?}");
    lab.aws.tag(&id, "web.dyn.example.com,*.web.dyn.example.com").await;
    let sent = lab.sent(&app, &sweep(), &policy, "a wildcard, allowed").await;
    let wildcard = |r: &Request| r.items.iter().any(|i| i.name == "\\052.web.dyn.example.com" && i.action == "CREATE");
    assert!(sent.iter().any(wildcard), "the wildcard was written: {sent:#?}");
    lab.aws.tag(&id, "*.web.dyn.example.com").await;
    let sent = lab.sent(&app, &sweep(), &policy, "a name untagged: its orphan goes").await;
    assert!(sent.iter().any(|r| r.items.iter().any(|i| i.name == "web.dyn.example.com" && i.action == "DELETE")));
    let sent = lab.sent(&app, &json!({"action": "release"}), &policy, "release").await;
    assert!(sent.iter().any(|r| r.items.iter().any(|i| i.name == "\\052.web.dyn.example.com" && i.action == "DELETE")));
}

#[tokio::test]
async fn static_and_tagged_records_in_one_zone_and_a_marker_taken_over() {
    let lab = Lab::start().await;
    let (dual, _) = lab.aws.dual_stack_instance().await;
    let tagged = lab.aws.run_instance().await;
    lab.aws.tag(&tagged, "t.dyn.example.com").await;
    // A marker an earlier version wrote under the old default owner, at a name now configured.
    lab.aws.put(&lab.zone, "CREATE", "legacy.example.com.", "A", 60, &["192.0.2.1"]).await;
    let old = format!("\"heritage=dynamic-dns-updater,owner=ddns-test,instance={dual}\"");
    lab.aws.put(&lab.zone, "CREATE", "_ddns-owner.legacy.example.com.", "TXT", 60, &[old.as_str()]).await;
    let org = lab.aws.zone("example.org").await;
    let records = json!([
        {"instance_id": dual, "zone_id": lab.zone, "name": "app.example.com", "types": ["AAAA"]},
        {"instance_id": dual, "zone_id": lab.zone, "name": "legacy.example.com", "types": ["A"]},
        {"instance_id": dual, "zone_id": org, "name": "app.example.org", "types": ["A"]},
    ]);
    let mut inputs = fleet_inputs(&lab.zone, &["A"], &["dyn.example.com"], false);
    inputs["records"] = records.clone();
    let policy = lab.module.policy(&inputs);
    let vars = [
        ("DDNS_RECORDS", records.to_string()),
        ("DDNS_TAG_KEY", TAG_KEY.into()),
        ("DDNS_ZONES", lab.zone.clone()),
        ("DDNS_TAG_SUFFIXES", "dyn.example.com".into()),
        ("DDNS_LEGACY_OWNER_ID", "ddns-test".into()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = lab.app(&vars).await;
    let sent = lab.sent(&app, &sweep(), &policy, "a static AAAA, a tagged A and a marker taken over").await;
    // Two zones written, and never mixed in one request: each request's names are its zone's.
    let mut zones: Vec<&str> = sent.iter().map(|r| r.zone.as_str()).collect();
    zones.sort();
    zones.dedup();
    let mut want = vec![lab.zone.as_str(), org.as_str()];
    want.sort();
    assert_eq!(zones, want, "{sent:#?}");
    for r in &sent {
        let suffix = if r.zone == org { ".example.org" } else { ".example.com" };
        assert!(r.items.iter().all(|i| i.name.ends_with(suffix)), "a request mixes zones: {r:#?}");
    }
    // The marker taken over is a compare-and-swap: the old marker's DELETE with the new one's
    // CREATE, in one request.
    let marker = |r: &&support::iam::Request, action: &str| {
        r.items.iter().any(|i| i.name == "_ddns-owner.legacy.example.com" && i.action == action)
    };
    assert!(sent.iter().any(|r| marker(&r, "DELETE") && marker(&r, "CREATE")), "{sent:#?}");
    assert!(!sent.iter().any(|r| r.items.iter().any(|i| i.action == "UPSERT")), "no write is unconditional: {sent:#?}");
    let managed = narrowed(&policy, "ChangeManagedRecords", |s| {
        s["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"] = json!(["A", "TXT"])
    });
    assert!(denied(&managed, &sent), "narrowing ChangeManagedRecords' types must show");
}

#[tokio::test]
async fn group_names_and_a_static_group_through_members_leaving_and_a_release() {
    let lab = Lab::start().await;
    let (a, b) = (lab.aws.run_instance().await, lab.aws.run_instance().await);
    for id in [&a, &b] {
        let tag = aws_sdk_ec2::types::Tag::builder().key("ddns:group").value("web.dyn.example.com").build();
        lab.aws.ec2.create_tags().resources(id.as_str()).tags(tag).send().await.unwrap();
    }
    let records = json!([{"instance_ids": [a, b], "zone_id": lab.zone, "name": "static.example.com"}]);
    let inputs = json!({ "group_tag_key": "ddns:group", "discovery_zone_ids": [lab.zone],
                         "tag_suffixes": ["dyn.example.com"], "records": records });
    let policy = lab.module.policy(&inputs);
    let vars = [
        ("DDNS_GROUP_TAG_KEY", "ddns:group".to_string()),
        ("DDNS_ZONES", lab.zone.clone()),
        ("DDNS_TAG_SUFFIXES", "dyn.example.com".into()),
        ("DDNS_RECORDS", records.to_string()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = lab.app(&vars).await;
    let sent = lab.sent(&app, &sweep(), &policy, "a group name and a static group, with their markers").await;
    let group_marker = |r: &Request| r.items.iter().any(|i| i.name == "_ddns-owner.web.dyn.example.com");
    assert!(sent.iter().any(group_marker), "{sent:#?}");
    lab.aws.stop(&a).await;
    lab.sent(&app, &state_change(&a, "stopped"), &policy, "a member leaves both sets").await;
    lab.aws.stop(&b).await;
    let sent =
        lab.sent(&app, &state_change(&b, "stopped"), &policy, "the last member leaves: records and markers go").await;
    assert!(sent.iter().any(|r| r.items.iter().any(|i| i.name == "web.dyn.example.com" && i.action == "DELETE")));
    let tagged = narrowed(&policy, "ChangeTaggedRecords", |s| {
        s["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] =
            json!(["*.other.example.com", "_ddns-owner.*.other.example.com"])
    });
    assert!(denied(&tagged, &sent), "narrowing ChangeTaggedRecords' names must show");
}
