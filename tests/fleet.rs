//! Fleet mode against moto: tag discovery, ownership markers, clean-up and the safety valve.

mod support;

use aws_sdk_ec2::types::Tag;
use serde_json::{Value, json};
use support::*;

struct Fleet {
    moto: Moto,
    aws: Aws,
    com: String,
    org: String,
}

async fn fleet() -> Fleet {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let com = aws.zone("example.com").await;
    let org = aws.zone("example.org").await;
    Fleet { moto, aws, com, org }
}

impl Fleet {
    async fn tagged(&self, names: &str) -> String {
        let id = self.aws.run_instance().await;
        self.aws.tag(&id, names).await;
        id
    }

    async fn app(&self, extra: &[(&str, &str)]) -> dynamic_dns_updater::app::App {
        let mut vars =
            vec![("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", self.com.as_str()), ("DDNS_OWNER_ID", "fleet-test")];
        vars.extend_from_slice(extra);
        app(&self.moto, &vars).await
    }

    async fn a(&self, name: &str) -> Option<Vec<String>> {
        self.aws.values(&self.com, name, "A").await
    }

    async fn marker(&self, name: &str) -> Option<Vec<String>> {
        self.aws.values(&self.com, &format!("_ddns-owner.{name}"), "TXT").await
    }
}

fn tag_change(id: &str) -> Value {
    let mut e = fixture("tag-change-on-resource.json");
    e["resources"] = json!([format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}")]);
    e["detail"]["changed-tag-keys"] = json!([TAG_KEY]);
    e
}

#[tokio::test]
async fn tagged_instances_get_records_and_untagged_ones_none() {
    let f = fleet().await;
    let web = f.tagged("web.example.com, API.example.com.").await;
    let _plain = f.aws.run_instance().await;
    let app = f.app(&[]).await;

    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["markers_changed"], 2);
    let ip = f.aws.public_ip(&web).await.unwrap();
    for name in ["web.example.com.", "api.example.com."] {
        assert_eq!(f.a(name).await, Some(vec![ip.clone()]), "{name}");
        let marker = f.marker(name).await.unwrap();
        assert_eq!(marker, [format!("\"heritage=dynamic-dns-updater,owner=fleet-test,instance={web},types=A\"")]);
    }
    let a_records = f.aws.records(&f.com).await.into_iter().filter(|r| r.1 == "A").count();
    assert_eq!(a_records, 2, "the untagged instance gets none");

    // In sync: one DescribeInstances page and one listing page, no writes.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(
        (r["changes"].clone(), r["unchanged"].clone(), r["aws_calls"].clone()),
        (json!([]), json!(2), json!(2)),
        "{r}"
    );
}

#[tokio::test]
async fn bad_names_are_refused_with_an_alert_and_names_in_other_zones_left_to_others() {
    let f = fleet().await;
    let id = f.tagged("ok.example.com,elsewhere.example.org,bad name.example.com").await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let url = sink.url();
    let app = f.app(&[("DDNS_WEBHOOK_URL", &url)]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert!(f.a("ok.example.com.").await.is_some(), "the good name still gets its record");
    assert!(
        f.aws.records(&f.org).await.iter().all(|r| r.1 != "A" && r.1 != "TXT"),
        "nothing written in the other zone"
    );
    let alert = sink.received()[0].json();
    assert_eq!(alert["event"], "dns.failed");
    let errors = alert["errors"].to_string();
    assert!(errors.contains(&id) && errors.contains("bad name.example.com"), "{errors}");
    assert!(!errors.contains("elsewhere.example.org"), "another deployment's zone is not this one's problem: {errors}");
    assert_eq!(r["problems"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["problems"][0]["kind"], "Refused");
}

#[tokio::test]
async fn a_foreign_record_at_a_tagged_name_is_left_alone() {
    let f = fleet().await;
    f.aws.put(&f.com, "CREATE", "taken.example.com.", "A", 300, &["192.0.2.7"]).await;
    let _id = f.tagged("taken.example.com").await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let url = sink.url();
    let app = f.app(&[("DDNS_WEBHOOK_URL", &url)]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["problems"][0]["kind"], "Conflict", "{r}");
    let message = r["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("without this tool's ownership marker"), "{message}");
    assert!(message.contains("list taken.example.com in DDNS_RECORDS to adopt it"), "the way out: {message}");
    assert_eq!(f.a("taken.example.com.").await, Some(vec!["192.0.2.7".to_string()]));
    assert_eq!(f.marker("taken.example.com.").await, None);
    assert_eq!(sink.received()[0].json()["event"], "dns.failed");
}

#[tokio::test]
async fn untagging_removes_the_record_and_its_marker() {
    let f = fleet().await;
    let id = f.tagged("gone.example.com").await;
    let keep = f.tagged("stays.example.com").await;
    let app = f.app(&[]).await;
    invoke(&app, &sweep()).await.unwrap();
    assert!(f.a("gone.example.com.").await.is_some());

    // The tag-change event cleans up at once.
    f.aws.untag(&id).await;
    let r = invoke(&app, &tag_change(&id)).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(f.a("gone.example.com.").await, None);
    assert_eq!(f.marker("gone.example.com.").await, None);
    assert!(f.a("stays.example.com.").await.is_some(), "another instance's name is untouched");

    // A missed event is caught by the sweep.
    f.aws.untag(&keep).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(f.aws.records(&f.com).await.iter().filter(|r| r.1 == "A" || r.1 == "TXT").count(), 0);
}

#[tokio::test]
async fn a_tag_change_updates_at_once_and_stop_and_terminate_clean_up() {
    let f = fleet().await;
    let id = f.aws.run_instance().await;
    let app = f.app(&[]).await;
    f.aws.tag(&id, "new.example.com").await;
    let r = invoke(&app, &tag_change(&id)).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "create", "{r}");
    assert!(f.a("new.example.com.").await.is_some());

    // Renaming moves the record: the old name's marker says it was this instance's.
    f.aws.tag(&id, "renamed.example.com").await;
    let r = invoke(&app, &tag_change(&id)).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(f.a("new.example.com.").await, None);
    assert!(f.a("renamed.example.com.").await.is_some());

    // A tag event that is not about our key costs nothing.
    let mut other = tag_change(&id);
    other["detail"]["changed-tag-keys"] = json!(["Name"]);
    assert_eq!(invoke(&app, &other).await.unwrap()["aws_calls"], 0);

    f.aws.stop(&id).await;
    let r = invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(f.marker("renamed.example.com.").await, None);
    f.aws.start(&id).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    assert!(f.a("renamed.example.com.").await.is_some());
    f.aws.ec2.terminate_instances().instance_ids(&id).send().await.unwrap();
    let r = invoke(&app, &state_change(&id, "terminated")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");

    // An untagged, unconfigured instance's events cost one look and write nothing.
    let plain = f.aws.run_instance().await;
    let r = invoke(&app, &state_change(&plain, "running")).await.unwrap();
    assert_eq!(r["aws_calls"], 1);
    assert!(r["note"].as_str().unwrap().contains("neither configured nor tagged"));
}

#[tokio::test]
async fn the_safety_valve_stops_a_mass_deletion() {
    let f = fleet().await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(f.tagged(&format!("n{i}.example.com")).await);
    }
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let url = sink.url();
    let app = f.app(&[("DDNS_WEBHOOK_URL", &url)]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 12);

    // Every tag vanishes at once, as after an IAM or API hiccup: nothing is written.
    f.aws
        .ec2
        .delete_tags()
        .set_resources(Some(ids.clone()))
        .tags(Tag::builder().key(TAG_KEY).build())
        .send()
        .await
        .unwrap();
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["problems"][0]["kind"], "SafetyValve", "{r}");
    let message = r["problems"][0]["message"].as_str().unwrap();
    assert!(message.contains("would delete 12 of the 12"), "{message}");
    assert_eq!(f.aws.records(&f.com).await.iter().filter(|r| r.1 == "A").count(), 12);
    assert_eq!(sink.received().last().unwrap().json()["errors"][0]["kind"], "SafetyValve");

    let r = invoke(&app, &json!({"action": "reconcile", "force": true})).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 12);
    assert_eq!(f.aws.records(&f.com).await.iter().filter(|r| r.1 == "A" || r.1 == "TXT").count(), 0);
}

#[tokio::test]
async fn discovery_and_explicit_mappings_together() {
    let f = fleet().await;
    let tagged = f.tagged("shared.example.com,own.example.com").await;
    let chosen = f.aws.run_instance().await;
    // The operator lists shared.example.com for another instance, and an existing record is adopted.
    f.aws.put(&f.com, "CREATE", "legacy.example.com.", "A", 60, &["192.0.2.1"]).await;
    let records = records_var(&[
        (&chosen, &f.com, "shared.example.com", &["A"]),
        (&chosen, &f.com, "legacy.example.com", &["A"]),
    ]);
    let app = f.app(&[("DDNS_RECORDS", &records)]).await;
    invoke(&app, &sweep()).await.unwrap();
    let chosen_ip = f.aws.public_ip(&chosen).await.unwrap();
    assert_eq!(f.a("shared.example.com.").await, Some(vec![chosen_ip.clone()]), "the explicit mapping wins");
    assert_eq!(f.a("own.example.com.").await, Some(vec![f.aws.public_ip(&tagged).await.unwrap()]));
    assert_eq!(f.a("legacy.example.com.").await, Some(vec![chosen_ip]), "adopted");
    assert!(f.marker("legacy.example.com.").await.unwrap()[0].contains(&chosen), "and marked");
}

#[tokio::test]
async fn ipv6_by_tag_types_and_wildcards() {
    let f = fleet().await;
    let (id, v6) = f.aws.dual_stack_instance().await;
    f.aws.tag(&id, "dual.example.com,*.dual.example.com").await;

    let app = f.app(&[("DDNS_TAG_TYPES", "A,AAAA"), ("DDNS_TAG_ALLOW_WILDCARDS", "true")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 4, "{r}");
    assert_eq!(f.aws.values(&f.com, "dual.example.com.", "AAAA").await, Some(vec![v6]));
    assert!(f.aws.values(&f.com, "\\052.dual.example.com.", "AAAA").await.is_some());
    assert!(f.marker("\\052.dual.example.com.").await.is_some());
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["unchanged"], 4, "{r}");
}
