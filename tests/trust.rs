//! Features met at one name, against moto, each a story that once deleted or misdirected a live
//! name: a group tag's event beside a static group, a user's record of a type our marker does
//! not list, a zone whose type could not be read, a hand-over to an instance with no address,
//! an instance id EC2 does not know, and an update that lost a race to another writer.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Tag;
use serde_json::{Value, json};
use support::proxy::{Call, FaultProxy};
use support::*;

const GROUP_KEY: &str = "ddns:group";

fn tag_change(id: &str, key: &str) -> Value {
    let mut e = fixture("tag-change-on-resource.json");
    e["resources"] = json!([format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}")]);
    e["detail"]["changed-tag-keys"] = json!([key]);
    e
}

/// Every problem and error an answer reports, as text.
fn problems(r: &Value) -> Vec<String> {
    let listed = |key: &str| r[key].as_array().map(|p| p.iter().map(Value::to_string).collect::<Vec<_>>());
    [listed("problems"), listed("errors")].into_iter().flatten().flatten().collect()
}

/// The answer of an invocation, whether or not it failed on what it reports.
fn answered(result: Result<dynamic_dns_updater::report::Answer, dynamic_dns_updater::handler::Error>) -> Value {
    match result {
        Ok(answer) => serde_json::to_value(answer).unwrap(),
        Err(dynamic_dns_updater::handler::Error::Failed { answer, .. }) => serde_json::to_value(*answer).unwrap(),
        Err(other) => panic!("failed otherwise: {other}"),
    }
}

async fn tag(aws: &Aws, id: &str, key: &str, value: &str) {
    let tag = Tag::builder().key(key).value(value).build();
    aws.ec2.create_tags().resources(id).tags(tag).send().await.unwrap();
}

#[tokio::test]
async fn a_group_tag_event_leaves_a_static_group_in_the_same_zone_alone() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let member = aws.run_instance().await;
    let records = json!([{"instance_ids": [member], "zone_id": zone, "name": "static.example.com"}]).to_string();
    let vars = [
        ("DDNS_RECORDS", records.as_str()),
        ("DDNS_GROUP_TAG_KEY", GROUP_KEY),
        ("DDNS_ZONES", zone.as_str()),
        ("DDNS_OWNER_ID", "trust"),
    ];
    let app = app(&moto, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    let ip = aws.public_ip(&member).await.unwrap();
    assert_eq!(aws.values(&zone, "static.example.com.", "A").await, Some(vec![ip.clone()]), "{r}");

    // An unrelated instance joins a tag group: its event cleans up group orphans, and a static
    // group, configured by the operator, is none of them.
    let other = aws.run_instance().await;
    tag(&aws, &other, GROUP_KEY, "web.example.com").await;
    let r = invoke(&app, &tag_change(&other, GROUP_KEY)).await.unwrap();
    assert_eq!(aws.values(&zone, "static.example.com.", "A").await, Some(vec![ip]), "{r}");
    assert!(aws.values(&zone, "_ddns-owner.static.example.com.", "TXT").await.is_some(), "{r}");
    let other_ip = aws.public_ip(&other).await.unwrap();
    assert_eq!(aws.values(&zone, "web.example.com.", "A").await, Some(vec![other_ip]), "{r}");
}

#[tokio::test]
async fn a_users_record_of_a_type_our_marker_does_not_list_is_never_touched() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    aws.tag(&id, "app.example.com").await;
    let base = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str()), ("DDNS_OWNER_ID", "trust")];
    let r = invoke(&app(&moto, &base).await, &sweep()).await.unwrap();
    let marker = aws.values(&zone, "_ddns-owner.app.example.com.", "TXT").await.unwrap();
    assert!(marker[0].contains("types=A\""), "{r}");
    aws.put(&zone, "CREATE", "app.example.com", "AAAA", 300, &["2001:db8::1"]).await;

    // AAAA is asked for now; the instance has no IPv6, and the AAAA there is the user's.
    let mut vars = base.to_vec();
    vars.push(("DDNS_TAG_TYPES", "A,AAAA"));
    let app = app(&moto, &vars).await;
    for _ in 0..2 {
        let r = invoke(&app, &sweep()).await.unwrap();
        assert_eq!(aws.values(&zone, "app.example.com.", "AAAA").await, Some(vec!["2001:db8::1".into()]), "{r}");
        let ip = aws.public_ip(&id).await.unwrap();
        assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip]), "{r}");
        let conflict = problems(&r).into_iter().find(|p| p.contains("Conflict")).unwrap_or_default();
        assert!(conflict.contains("app.example.com") && conflict.contains("AAAA"), "{r}");
        assert_eq!(aws.values(&zone, "_ddns-owner.app.example.com.", "TXT").await, Some(marker.clone()), "{r}");
    }
}

#[tokio::test]
async fn a_zone_whose_type_could_not_be_read_is_not_written_until_it_is_known() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.private_zone("internal.example").await;
    let id = aws.run_instance().await;
    let proxy = FaultProxy::throttling(moto.port, Call::GetZone);
    proxy.throttle(true);
    let records = records_var(&[(&id, &zone, "app.internal.example", &["A"])]);
    let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "trust")]).await;

    // The cold start could not learn the zone's type: nothing is written there, no address is
    // guessed, and the problem names the zone.
    let r = answered(answer(&app, &sweep()).await);
    assert_eq!(aws.values(&zone, "app.internal.example.", "A").await, None, "{r}");
    assert!(problems(&r).iter().any(|p| p.contains(&zone) && p.contains("type")), "{r}");

    // Once the type can be read, the private address goes in.
    proxy.throttle(false);
    let r = invoke(&app, &sweep()).await.unwrap();
    let private = aws.private_ip(&id).await.unwrap();
    assert_eq!(aws.values(&zone, "app.internal.example.", "A").await, Some(vec![private]), "{r}");
}

#[tokio::test]
async fn a_hand_over_to_an_instance_with_no_address_leaves_no_released_address() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let (a, b) = (aws.run_instance().await, aws.run_instance().await);
    aws.tag(&a, "web.example.com").await;
    aws.tag(&b, "web.example.com").await;
    let vars = [
        ("DDNS_TAG_KEY", TAG_KEY),
        ("DDNS_ZONES", zone.as_str()),
        ("DDNS_OWNER_ID", "trust"),
        ("DDNS_ON_STOP", "keep"),
    ];
    let app = app(&moto, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    let marker = aws.values(&zone, "_ddns-owner.web.example.com.", "TXT").await.unwrap();
    let (holder, spare) = if marker[0].contains(&a) { (a, b) } else { (b, a) };
    let released = aws.public_ip(&holder).await.unwrap();
    assert_eq!(aws.values(&zone, "web.example.com.", "A").await, Some(vec![released.clone()]), "{r}");

    // The spare waits stopped (a warm pool keeps them so); the holder terminates.
    aws.stop(&spare).await;
    invoke(&app, &state_change(&spare, "stopped")).await.unwrap();
    aws.terminate(&holder).await;
    let r = invoke(&app, &state_change(&holder, "terminated")).await.unwrap();
    assert_eq!(aws.values(&zone, "web.example.com.", "A").await, None, "the released {released} stays: {r}");

    // The spare starts: it takes the name with its own address.
    aws.start(&spare).await;
    let r = invoke(&app, &state_change(&spare, "running")).await.unwrap();
    let ip = aws.public_ip(&spare).await.unwrap();
    assert_eq!(aws.values(&zone, "web.example.com.", "A").await, Some(vec![ip]), "{r}");
    let marker = aws.values(&zone, "_ddns-owner.web.example.com.", "TXT").await.unwrap();
    assert!(marker[0].contains(&spare), "{marker:?}");
}

#[tokio::test]
async fn an_instance_id_ec2_does_not_know_is_a_problem_and_deletes_nothing() {
    let w = world().await;
    let app1 = app(&w.moto, &[("DDNS_RECORDS", w.records.as_str()), ("DDNS_OWNER_ID", "trust")]).await;
    invoke(&app1, &sweep()).await.unwrap();
    let ip = w.aws.public_ip(&w.id).await.unwrap();

    // A typo in the mapping's instance id.
    let typo = "i-0123456789abcdef0";
    let records = records_var(&[(typo, &w.zone, "app.example.com", &["A"])]);
    let app2 = app(&w.moto, &[("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "trust")]).await;
    let r = answered(answer(&app2, &sweep()).await);
    assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, Some(vec![ip]), "{r}");
    assert!(w.aws.values(&w.zone, "_ddns-owner.app.example.com.", "TXT").await.unwrap()[0].contains(&w.id));
    assert!(problems(&r).iter().any(|p| p.contains(typo) && p.contains("does not know")), "{r}");
}

#[tokio::test]
async fn an_update_from_an_older_read_never_overwrites_a_newer_write() {
    let w = world().await;
    let vars = [("DDNS_RECORDS", w.records.as_str()), ("DDNS_OWNER_ID", "trust")];
    invoke(&app(&w.moto, &vars).await, &sweep()).await.unwrap();
    let ip = w.aws.public_ip(&w.id).await.unwrap();
    // The record drifts, so the next sweep plans an update from what it reads.
    w.aws.put(&w.zone, "UPSERT", "app.example.com", "A", 60, &["192.0.2.1"]).await;

    let proxy = FaultProxy::start(w.moto.port, Call::ChangeRecords, Duration::from_secs(2));
    let app = app_at(&proxy.endpoint(), &vars).await;
    let sweeping = tokio::spawn(async move { invoke(&app, &sweep()).await });
    let started = Instant::now();
    while proxy.count(Call::ChangeRecords) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the sweep sent no change within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Another writer changes the record after the sweep read it, before its change lands.
    w.aws.put(&w.zone, "UPSERT", "app.example.com", "A", 60, &["192.0.2.2"]).await;
    let r = sweeping.await.unwrap().unwrap();
    // The change from the older read is refused (it deletes values no longer there), and the
    // second chance reads again before it writes.
    assert_eq!(proxy.count(Call::ChangeRecords), 2, "{r}");
    assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, Some(vec![ip]), "{r}");
    assert!(problems(&r).is_empty(), "{r}");
}

#[tokio::test]
async fn the_functions_own_account_and_region_listed_as_a_target_is_refused() {
    let w = world().await;
    let targets = json!([{"account_id": "123456789012", "role_arn": "arn:aws:iam::123456789012:role/reader", "regions": ["us-east-1"]}]);
    let targets = targets.to_string();
    let vars = [("DDNS_RECORDS", w.records.as_str()), ("DDNS_TARGETS", targets.as_str()), ("DDNS_OWNER_ID", "trust")];
    let app = app(&w.moto, &vars).await;
    // Lambda's context names the function's account (its ARN).
    let invocation = dynamic_dns_updater::handler::Invocation {
        deadline: std::time::SystemTime::now() + Duration::from_secs(60),
        account: Some("123456789012".into()),
    };
    let r = answered(dynamic_dns_updater::handler::handle(&app, &sweep(), invocation).await);
    assert!(problems(&r).iter().any(|p| p.contains("DDNS_TARGETS") && p.contains("own account")), "{r}");
    assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, None, "nothing done meanwhile: {r}");
}
