//! Safe names, safe teardown, owners that cannot collide (moto in server mode): what a tag may
//! claim, what a release leaves, names no longer configured, terminated instances, deployments
//! in two regions sharing a zone, and markers written under the earlier default owner.

mod support;

use aws_sdk_ssm::types::ParameterType;
use serde_json::json;
use support::*;

/// Every A, AAAA and TXT record set in the zone but the zone's own, as (name, type).
async fn ours_and_theirs(aws: &Aws, zone: &str) -> Vec<(String, String)> {
    let mut sets: Vec<(String, String)> = aws
        .records(zone)
        .await
        .into_iter()
        .filter(|r| ["A", "AAAA", "TXT"].contains(&r.1.as_str()))
        .map(|r| (r.0, r.1))
        .collect();
    sets.sort();
    sets
}

#[tokio::test]
async fn a_tag_may_not_claim_the_apex_a_wildcard_or_a_name_outside_the_suffixes() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    aws.tag(&id, "example.com,*.example.com,login.example.com,web.dyn.example.com").await;
    let vars = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str()), ("DDNS_TAG_SUFFIXES", "dyn.example.com")];
    let app = app(&moto, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    let refused: Vec<(String, String)> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["scope"].as_str().unwrap().to_string(), p["message"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        refused,
        [
            (
                format!("{id} example.com"),
                "the apex of zone example.com; set DDNS_TAG_ALLOW_WILDCARDS=true to let tags claim it".into()
            ),
            (
                format!("{id} *.example.com"),
                "a wildcard name; set DDNS_TAG_ALLOW_WILDCARDS=true to let tags claim it".into()
            ),
            (format!("{id} login.example.com"), "not below DDNS_TAG_SUFFIXES (dyn.example.com)".into()),
        ],
        "each names the instance, the name and the rule: {r}"
    );
    assert!(r["problems"].as_array().unwrap().iter().all(|p| p["kind"] == "Refused"));
    let names: Vec<String> = ours_and_theirs(&aws, &zone).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["_ddns-owner.web.dyn.example.com.", "web.dyn.example.com."],
        "only the allowed name got a record"
    );

    // A suffix outside every allowed zone is a start-up error that names the variable.
    let vars = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str()), ("DDNS_TAG_SUFFIXES", "dyn.example.net")];
    let clients = dynamic_dns_updater::clients::Clients::from_sdk(&moto.sdk().await);
    let err = build(clients, "us-east-1", &vars).await.unwrap_err();
    assert!(err.starts_with("DDNS_TAG_SUFFIXES: dyn.example.net lies in none of DDNS_ZONES' zones"), "{err}");
}

#[tokio::test]
async fn a_release_leaves_no_record_or_marker_of_ours_and_every_foreign_record_in_place() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let (a, b) = (aws.run_instance().await, aws.run_instance().await);
    aws.tag(&b, "tagged.example.com").await;
    aws.put(&zone, "CREATE", "foreign.example.com.", "A", 300, &["192.0.2.1"]).await;
    aws.put(&zone, "CREATE", "app.example.com.", "TXT", 300, &["\"v=spf1 -all\""]).await;
    aws.put(
        &zone,
        "CREATE",
        "_ddns-owner.theirs.example.com.",
        "TXT",
        300,
        &["\"heritage=dynamic-dns-updater,owner=them,instance=i-0123456789abcdef0\""],
    )
    .await;
    let before = ours_and_theirs(&aws, &zone).await;
    // The deployment's incidents parameter, as an earlier problem left it.
    let store = "/dynamic-dns-updater/ddns-test/incidents";
    aws.ssm
        .put_parameter()
        .name(store)
        .value("{\"v\": 1, \"open\": []}")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let (records, url) = (records_var(&[(&a, &zone, "app.example.com", &["A"])]), sink.url());
    let vars = [
        ("DDNS_RECORDS", records.as_str()),
        ("DDNS_TAG_KEY", TAG_KEY),
        ("DDNS_ZONES", zone.as_str()),
        ("DDNS_WEBHOOK_URL", url.as_str()),
        ("DDNS_INCIDENTS_PARAMETER", store),
    ];
    let app = app(&moto, &vars).await;
    invoke(&app, &sweep()).await.unwrap();
    assert_eq!(ours_and_theirs(&aws, &zone).await.len(), before.len() + 4, "two records, two markers");

    let dry = invoke(&app, &json!({"action": "release", "dry_run": true})).await.unwrap();
    assert_eq!(dry["changes"].as_array().unwrap().len(), 2, "{dry}");
    assert!(dry["changes"].as_array().unwrap().iter().all(|c| c["status"] == "planned" && c["action"] == "delete"));
    assert_eq!(ours_and_theirs(&aws, &zone).await.len(), before.len() + 4, "a dry run deletes nothing");
    assert!(aws.ssm.get_parameter().name(store).send().await.is_ok(), "nor the incidents parameter");

    let r = invoke(&app, &json!({"action": "release"})).await.unwrap();
    assert_eq!((r["changes"].as_array().unwrap().len(), r["markers_changed"].clone()), (2, json!(2)), "{r}");
    assert_eq!(ours_and_theirs(&aws, &zone).await, before, "exactly what was there before us");
    let gone = aws.ssm.get_parameter().name(store).send().await.unwrap_err();
    assert!(gone.into_service_error().is_parameter_not_found(), "the incidents parameter goes too");
}

#[tokio::test]
async fn another_owners_record_and_marker_at_a_managed_name_stay_exactly_as_they_were() {
    let World { moto, aws, zone, id, .. } = world().await;
    let theirs = "\"heritage=dynamic-dns-updater,owner=them,instance=i-0123456789abcdef0,types=A\"";
    aws.put(&zone, "CREATE", "app.example.com.", "A", 300, &["192.0.2.50"]).await;
    aws.put(&zone, "CREATE", "_ddns-owner.app.example.com.", "TXT", 300, &[theirs]).await;
    let before = aws.records(&zone).await;
    let records = records_var(&[(&id, &zone, "app.example.com", &["A"]), (&id, &zone, "mine.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "us")]).await;
    let owned_by_them = |r: &serde_json::Value| {
        assert_eq!(r["problems"].as_array().unwrap().len(), 1, "{r}");
        let p = &r["problems"][0];
        assert_eq!(
            (p["kind"].as_str(), p["scope"].as_str()),
            (Some("Conflict"), Some(&*format!("app.example.com A ({id})"))),
            "{r}"
        );
        assert_eq!(
            p["message"],
            "the name is owned by owner them; left untouched. Choose another name, or delete the TXT record \
             _ddns-owner.app.example.com if that owner is gone",
            "{r}"
        );
    };
    for event in [sweep(), state_change(&id, "running"), sweep()] {
        let r = invoke(&app, &event).await.unwrap();
        owned_by_them(&r);
        assert!(r["changes"].as_array().unwrap().iter().all(|c| c["name"] == "mine.example.com"), "{r}");
    }
    let ours = |all: Vec<(String, String, i64, Vec<String>)>| -> Vec<_> {
        all.into_iter().filter(|r| !r.0.ends_with("mine.example.com.")).collect()
    };
    assert_eq!(ours(aws.records(&zone).await), before, "their record and marker, value and TTL, as they were");
    assert!(aws.values(&zone, "mine.example.com.", "A").await.is_some());

    let r = invoke(&app, &json!({"action": "release"})).await.unwrap();
    let released: Vec<&str> = r["changes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!((released, r["markers_changed"].clone()), (vec!["mine.example.com"], json!(1)), "{r}");
    assert_eq!(aws.records(&zone).await, before, "a release takes ours only: theirs stays, exactly");
}

#[tokio::test]
async fn terraform_releases_only_when_the_deployment_is_destroyed() {
    let World { moto, aws, zone, id, records } = world().await;
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    let tf = |action: &str| json!({"action": "release", "tf": {"action": action, "prev_input": null}});
    let r = invoke(&app, &tf("create")).await.unwrap();
    assert_eq!((r["aws_calls"].clone(), r["note"].is_string()), (json!(0), true), "{r}");
    assert!(aws.values(&zone, "app.example.com.", "A").await.is_some());
    // The destroy's release waits out running invocations until shortly before its deadline.
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(6);
    let invocation = dynamic_dns_updater::handler::Invocation { deadline, account: None };
    dynamic_dns_updater::handler::handle(&app, &tf("delete"), invocation).await.unwrap();
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, None);
}

#[tokio::test]
async fn a_name_removed_from_the_records_is_deleted_by_the_next_cold_start_sweep() {
    let World { moto, aws, zone, id, .. } = world().await;
    let both = records_var(&[(&id, &zone, "app.example.com", &["A"]), (&id, &zone, "old.example.com", &["A"])]);
    let app1 = app(&moto, &[("DDNS_RECORDS", &both)]).await;
    invoke(&app1, &sweep()).await.unwrap();
    assert!(aws.values(&zone, "old.example.com.", "A").await.is_some());
    // The mapping is removed: a configuration change starts a new process.
    let one = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let app2 = app(&moto, &[("DDNS_RECORDS", &one)]).await;
    let r = invoke(&app2, &sweep()).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(r["changes"][0]["name"], "old.example.com");
    assert_eq!(aws.values(&zone, "old.example.com.", "A").await, None);
    assert_eq!(aws.values(&zone, "_ddns-owner.old.example.com.", "TXT").await, None);
    assert!(aws.values(&zone, "app.example.com.", "A").await.is_some());
    // Warm sweeps in sync stay at two calls.
    let r = invoke(&app2, &sweep()).await.unwrap();
    assert_eq!(r["aws_calls"], 2, "{r}");
}

#[tokio::test]
async fn a_terminated_instance_loses_its_records_even_under_keep() {
    let World { moto, aws, zone, id, records } = world().await;
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_ON_STOP", "keep")]).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    aws.stop(&id).await;
    invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert!(aws.values(&zone, "app.example.com.", "A").await.is_some(), "keep: a stopped instance keeps its record");
    aws.ec2.terminate_instances().instance_ids(&id).send().await.unwrap();
    let r = invoke(&app, &state_change(&id, "terminated")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, None);
}

#[tokio::test]
async fn dropping_a_record_type_deletes_the_records_of_that_type() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let (id, _) = aws.dual_stack_instance().await;
    aws.tag(&id, "dual.example.com").await;
    let vars = |types| vec![("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str()), ("DDNS_TAG_TYPES", types)];
    invoke(&app(&moto, &vars("A,AAAA")).await, &sweep()).await.unwrap();
    assert!(aws.values(&zone, "dual.example.com.", "AAAA").await.is_some());
    let r = invoke(&app(&moto, &vars("A")).await, &sweep()).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(r["changes"][0]["type"], "AAAA");
    assert_eq!(aws.values(&zone, "dual.example.com.", "AAAA").await, None);
    assert!(aws.values(&zone, "dual.example.com.", "A").await.is_some());
    let marker = aws.values(&zone, "_ddns-owner.dual.example.com.", "TXT").await.unwrap();
    assert!(marker[0].ends_with(",types=A\""), "{marker:?}");
}

#[tokio::test]
async fn two_deployments_in_two_regions_sharing_a_zone_with_default_owners_leave_each_other_alone() {
    let moto = Moto::start();
    let (east, west) = (moto.aws().await, moto.aws_in("eu-west-1").await);
    let zone = east.zone("example.com").await;
    let (a, b) = (east.run_instance().await, west.run_instance().await);
    let east_app =
        app_in(&moto, "us-east-1", &[("DDNS_RECORDS", &records_var(&[(&a, &zone, "east.example.com", &["A"])]))]).await;
    let west_app =
        app_in(&moto, "eu-west-1", &[("DDNS_RECORDS", &records_var(&[(&b, &zone, "west.example.com", &["A"])]))]).await;
    for round in 0..3 {
        for (app, label) in [(&east_app, "east"), (&west_app, "west")] {
            let r = invoke(app, &sweep()).await.unwrap();
            let deletes = r["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "delete").count();
            assert_eq!(deletes, 0, "round {round}, {label}: {r}");
        }
    }
    assert!(east.values(&zone, "east.example.com.", "A").await.is_some());
    assert!(east.values(&zone, "west.example.com.", "A").await.is_some());
    let marker = east.values(&zone, "_ddns-owner.west.example.com.", "TXT").await.unwrap();
    assert!(marker[0].contains("owner=ddns-test.eu-west-1.123456789012,"), "{marker:?}");
}

#[tokio::test]
async fn markers_under_the_old_default_owner_are_taken_over_or_left_to_their_region() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let (mine, gone) = (aws.run_instance().await, aws.run_instance().await);
    let old = |id: &str| format!("\"heritage=dynamic-dns-updater,owner=ddns-test,instance={id}\"");
    // What an earlier version wrote with the old default owner (the function's name).
    for (name, id, ip) in [
        ("mine.example.com.", mine.as_str(), "192.0.2.10"),
        ("gone.example.com.", gone.as_str(), "192.0.2.11"),
        ("elsewhere.example.com.", "i-0fffffffffffffff0", "192.0.2.12"),
    ] {
        aws.put(&zone, "CREATE", name, "A", 60, &[ip]).await;
        aws.put(&zone, "CREATE", &format!("_ddns-owner.{name}"), "TXT", 60, &[&old(id)]).await;
    }
    aws.ec2.terminate_instances().instance_ids(&gone).send().await.unwrap();
    let records = records_var(&[(&mine, &zone, "mine.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("AWS_LAMBDA_FUNCTION_NAME", "ddns-test")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["problems"], json!([]), "{r}");
    let want =
        format!("\"heritage=dynamic-dns-updater,owner=ddns-test.us-east-1.123456789012,instance={mine},types=A\"");
    assert_eq!(aws.values(&zone, "_ddns-owner.mine.example.com.", "TXT").await, Some(vec![want]), "taken over");
    assert_eq!(aws.values(&zone, "mine.example.com.", "A").await, Some(vec![aws.public_ip(&mine).await.unwrap()]));
    assert_eq!(aws.values(&zone, "gone.example.com.", "A").await, None, "its instance is seen terminated: released");
    assert_eq!(aws.values(&zone, "_ddns-owner.gone.example.com.", "TXT").await, None);
    assert!(
        aws.values(&zone, "elsewhere.example.com.", "A").await.is_some(),
        "an instance not seen may be another region's"
    );
    assert!(aws.values(&zone, "_ddns-owner.elsewhere.example.com.", "TXT").await.is_some());
}
