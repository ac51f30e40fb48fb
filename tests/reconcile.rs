//! Whole reconciles against moto in server mode, through the real SDK.

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn instance_life_cycle() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    // Spelled without the trailing dot and in mixed case, as users write it.
    let records = records_var(&[(&id, &zone, "App.Example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;

    // Start: the record is created with the instance's address.
    let ip1 = aws.public_ip(&id).await.expect("moto gives a public IP");
    let r = invoke(&app, &state_change(&id, "running")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "create");
    assert_eq!(r["changes"][0]["new"], ip1.as_str());
    assert_eq!(r["changes"][0]["name"], "app.example.com");
    assert_eq!(r["aws_calls"], 3, "describe + one lookup + one change: {r}");
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip1.clone()]));
    // Without DDNS_OWNER_ID the owner is the function, its region and its account: no other deployment is.
    let marker =
        format!("\"heritage=dynamic-dns-updater,owner=ddns-test.us-east-1.123456789012,instance={id},types=A\"");
    assert_eq!(
        aws.values(&zone, "_ddns-owner.app.example.com.", "TXT").await,
        Some(vec![marker]),
        "marked in the same batch"
    );

    // A sweep in sync takes exactly two calls and writes nothing, despite the spelling.
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["changes"], json!([]));
    assert_eq!(r["unchanged"], 1);
    assert_eq!(r["aws_calls"], 2);

    // Stop and start: a new address, and the record follows it.
    aws.stop(&id).await;
    aws.start(&id).await;
    let ip2 = aws.public_ip(&id).await.unwrap();
    assert_ne!(ip1, ip2, "moto gives a new IP after a stop and start");
    let r = invoke(&app, &state_change(&id, "running")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "update");
    assert_eq!(r["changes"][0]["old"], ip1.as_str());
    assert_eq!(r["changes"][0]["new"], ip2.as_str());
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip2.clone()]));

    // Someone edits the record by hand: the sweep corrects the drift.
    aws.put(&zone, "UPSERT", "app.example.com.", "A", 300, &["192.0.2.99"]).await;
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["changes"][0]["old"], "192.0.2.99");
    assert_eq!(r["changes"][0]["new"], ip2.as_str());
    let rec = aws.records(&zone).await.into_iter().find(|r| r.0 == "app.example.com.").unwrap();
    assert_eq!((rec.2, rec.3), (60, vec![ip2.clone()]));

    // Stop: the address is given back, so the record goes.
    aws.stop(&id).await;
    let r = invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete");
    assert_eq!(r["changes"][0]["old"], ip2.as_str());
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, None);
    assert_eq!(aws.values(&zone, "_ddns-owner.app.example.com.", "TXT").await, None, "the marker goes with it");

    // And a sweep of a stopped instance stays quiet.
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["changes"], json!([]));
}

#[tokio::test]
async fn keep_policy_leaves_records_of_a_stopped_instance() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_ON_STOP", "keep")]).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    let ip = aws.public_ip(&id).await.unwrap();
    aws.stop(&id).await;
    let r = invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert_eq!(r["changes"], json!([]));
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip]));
}

#[tokio::test]
async fn several_records_in_two_zones_with_the_fewest_calls() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let com = aws.zone("example.com").await;
    let org = aws.zone("example.org").await;
    let (a, b) = (aws.run_instance().await, aws.run_instance().await);
    let records = records_var(&[
        (&a, &com, "a.example.com", &["A"]),
        (&a, &com, "www.example.com", &["A"]),
        (&b, &com, "b.example.com", &["A"]),
        (&a, &org, "a.example.org", &["A"]),
        (&b, &org, "b.example.org", &["A"]),
    ]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 5);
    // One DescribeInstances, one listing page per zone, one change batch per zone.
    assert_eq!(r["aws_calls"], 5, "{r}");
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["unchanged"], 5);
    assert_eq!(r["aws_calls"], 3, "{r}");
    assert_eq!(aws.values(&org, "b.example.org.", "A").await, Some(vec![aws.public_ip(&b).await.unwrap()]));

    // A running event touches only that instance's records.
    aws.stop(&b).await;
    aws.start(&b).await;
    let r = invoke(&app, &state_change(&b, "running")).await.unwrap();
    let names: Vec<&str> = r["changes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"b.example.com") && names.contains(&"b.example.org"), "{names:?}");
}

#[tokio::test]
async fn records_it_does_not_own_are_never_touched() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    // Neighbours: other types at the managed name, and other names.
    aws.put(&zone, "CREATE", "app.example.com.", "MX", 300, &["10 mx.example.com"]).await;
    aws.put(&zone, "CREATE", "app.example.com.", "TXT", 300, &["\"v=spf1 -all\""]).await;
    aws.put(&zone, "CREATE", "app.example.com.", "AAAA", 300, &["2001:db8::1"]).await;
    aws.put(&zone, "CREATE", "other.example.com.", "A", 300, &["192.0.2.1"]).await;
    aws.put(&zone, "CREATE", "example.com.", "TXT", 300, &["\"v=spf1 include:example.net -all\""]).await;
    let before: Vec<_> =
        aws.records(&zone).await.into_iter().filter(|r| !(r.0 == "app.example.com." && r.1 == "A")).collect();

    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    aws.stop(&id).await;
    aws.start(&id).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    aws.stop(&id).await;
    let r = invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete");

    let after: Vec<_> = aws.records(&zone).await;
    assert_eq!(after.iter().filter(|r| r.0 == "app.example.com." && r.1 == "A").count(), 0);
    for rec in &before {
        assert!(after.contains(rec), "{rec:?} was changed");
    }
}

#[tokio::test]
async fn alias_at_a_managed_name_is_refused() {
    use aws_sdk_route53::types::*;
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let alias = ResourceRecordSet::builder()
        .name("app.example.com.")
        .r#type(RrType::A)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id("Z2FDTNDATAQYW2")
                .dns_name("d111111abcdef8.cloudfront.net.")
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let change = Change::builder().action(ChangeAction::Create).resource_record_set(alias).build().unwrap();
    aws.r53
        .change_resource_record_sets()
        .hosted_zone_id(&zone)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();

    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    // Retrying would not help, so the invocation succeeds and names the problem.
    let r = invoke(&app, &state_change(&id, "running")).await.unwrap();
    assert_eq!(r["problems"][0]["kind"], "Conflict");
    assert!(r["problems"][0]["message"].as_str().unwrap().contains("alias record"), "{r}");
    assert_eq!(r["errors"], json!([]));
    let rec = aws.r53.list_resource_record_sets().hosted_zone_id(&zone).send().await.unwrap();
    let still = rec.resource_record_sets().iter().find(|r| r.name() == "app.example.com.").unwrap();
    assert!(still.alias_target().is_some(), "the alias must stay");
}

#[tokio::test]
async fn ipv6_on_an_ipv6_subnet() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let (id, want_v6) = aws.dual_stack_instance().await;

    let records = records_var(&[(&id, &zone, "dual.example.com", &["A", "AAAA"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    let r = invoke(&app, &state_change(&id, "running")).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(aws.values(&zone, "dual.example.com.", "AAAA").await, Some(vec![want_v6]));
    assert!(aws.values(&zone, "dual.example.com.", "A").await.is_some());
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["unchanged"], 2);
    assert_eq!(r["aws_calls"], 2);
}

#[tokio::test]
async fn dry_run_and_manual_scope() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let (a, b) = (aws.run_instance().await, aws.run_instance().await);
    let records = records_var(&[(&a, &zone, "a.example.com", &["A"]), (&b, &zone, "b.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;

    let r = invoke(&app, &json!({"action": "reconcile", "dry_run": true})).await.unwrap();
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["changes"].as_array().unwrap().len(), 2);
    assert_eq!(r["changes"][0]["status"], "planned");
    assert!(aws.records(&zone).await.iter().all(|r| r.1 != "A"), "a dry run writes nothing");

    let r = invoke(&app, &json!({"action": "reconcile", "instance_ids": [a]})).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 1);
    assert!(aws.values(&zone, "a.example.com.", "A").await.is_some());
    assert!(aws.values(&zone, "b.example.com.", "A").await.is_none());
}

#[tokio::test]
async fn events_that_need_nothing_make_no_calls() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    for event in [
        state_change("i-0000000aaaaaaaaaa", "running"),
        state_change(&id, "pending"),
        fixture("rebalance-recommendation.json"),
    ] {
        let r = invoke(&app, &event).await.unwrap();
        assert_eq!(r["aws_calls"], 0, "{event}: {r}");
        assert!(r["note"].is_string(), "{r}");
    }
    assert!(aws.records(&zone).await.iter().all(|r| r.1 != "A"));
}

#[tokio::test]
async fn a_terminated_instance_loses_its_record() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    invoke(&app, &state_change(&id, "running")).await.unwrap();
    aws.ec2.terminate_instances().instance_ids(&id).send().await.unwrap();
    let r = invoke(&app, &state_change(&id, "terminated")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete");
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, None);
}

#[tokio::test]
async fn a_missing_zone_is_a_problem_with_an_alert_and_the_rest_is_reconciled() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    // The second zone does not exist: its reads fail, the first zone is still reconciled.
    let records =
        records_var(&[(&id, &zone, "app.example.com", &["A"]), (&id, "ZNOSUCHZONE1", "app.example.net", &["A"])]);
    let url = sink.url();
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_WEBHOOK_URL", &url)]).await;
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["problems"][0]["kind"], "NoSuchZone", "{r}");
    assert_eq!(r["problems"][0]["scope"], "ZNOSUCHZONE1");
    assert!(aws.values(&zone, "app.example.com.", "A").await.is_some(), "the healthy zone is still updated");
    let got = sink.received();
    assert_eq!(got.len(), 1, "one alert per invocation");
    let body = got[0].json();
    assert_eq!(body["event"], "dns.failed");
    assert_eq!(body["changes"][0]["name"], "app.example.com");
    assert!(body["errors"][0]["scope"].as_str().unwrap().contains("ZNOSUCHZONE1"), "{body}");
}

#[tokio::test]
async fn a_running_event_waits_briefly_for_the_public_address() {
    use aws_sdk_ec2::types::DomainType;
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    // A subnet that gives no public address, so the address arrives later (an Elastic IP here).
    let subnet = aws.subnet(false).await;
    let id = aws.launch(|req| req.subnet_id(subnet)).await.instance_id().unwrap().to_string();
    assert_eq!(aws.public_ip(&id).await, None);

    let records = records_var(&[(&id, &zone, "late.example.com", &["A"])]);
    let app = app(&moto, &[("DDNS_RECORDS", &records)]).await;
    // The address arrives once the invocation has looked twice and found none: its second
    // DescribeInstances is sent only after the first answered without an address. Its calls are
    // counted from here, as the clients' counter also holds the calls made before.
    let before = app.clients.calls.get();
    let associate = async {
        let looking = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while app.clients.calls.get() < before + 2 {
            assert!(std::time::Instant::now() < looking, "the invocation did not describe the instance twice in 20 s");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let eip = aws.ec2.allocate_address().domain(DomainType::Vpc).send().await.unwrap();
        aws.ec2.associate_address().instance_id(&id).allocation_id(eip.allocation_id().unwrap()).send().await.unwrap();
        eip.public_ip().unwrap().to_string()
    };
    let started = state_change(&id, "running");
    let (r, eip) = tokio::join!(invoke(&app, &started), associate);
    let r = r.unwrap();
    assert_eq!(r["changes"][0]["new"], eip.as_str(), "{r}");
    assert!(r["aws_calls"].as_u64().unwrap() >= 5, "it described the instance three times or more: {r}");

    // A sweep never waits: an instance without an address simply has no record.
    aws.ec2.disassociate_address().public_ip(&eip).send().await.unwrap();
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(r["aws_calls"], 3, "one describe, one read, one write: {r}");
}
