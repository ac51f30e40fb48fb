//! Reads that grow with the names we manage, not with the zone, against moto: a warm sweep reads
//! its names and the names the process knows our markers guard, never the zone whole, until
//! DDNS_FULL_READ has passed.

mod support;

use serde_json::json;
use support::*;

/// A zone of `fillers` record sets that are not ours, and three tagged instances.
async fn big_zone(fillers: usize) -> (Moto, Aws, String, Vec<String>) {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    for chunk in (0..fillers).collect::<Vec<_>>().chunks(500) {
        let changes = chunk.iter().map(|i| {
            let value = aws_sdk_route53::types::ResourceRecord::builder().value("192.0.2.1").build().unwrap();
            let set = aws_sdk_route53::types::ResourceRecordSet::builder()
                .name(format!("host-{i:05}.example.com"))
                .r#type(aws_sdk_route53::types::RrType::A)
                .ttl(300)
                .resource_records(value)
                .build()
                .unwrap();
            aws_sdk_route53::types::Change::builder()
                .action(aws_sdk_route53::types::ChangeAction::Create)
                .resource_record_set(set)
                .build()
                .unwrap()
        });
        let batch =
            aws_sdk_route53::types::ChangeBatch::builder().set_changes(Some(changes.collect())).build().unwrap();
        aws.r53.change_resource_record_sets().hosted_zone_id(&zone).change_batch(batch).send().await.unwrap();
    }
    let mut ids = Vec::new();
    for name in ["a.dyn.example.com", "m.dyn.example.com", "z.dyn.example.com"] {
        let id = aws.run_instance().await;
        aws.tag(&id, name).await;
        ids.push(id);
    }
    (moto, aws, zone, ids)
}

fn vars<'a>(zone: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone), ("DDNS_OWNER_ID", "reads")];
    vars.extend_from_slice(extra);
    vars
}

#[tokio::test]
async fn a_warm_sweep_reads_its_names_not_the_zone_and_still_finds_a_name_whose_tag_vanished() {
    let (moto, aws, zone, ids) = big_zone(1_200).await;
    let app = app(&moto, &vars(&zone, &[])).await;
    let first = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(first["changes"].as_array().unwrap().len(), 3, "{first}");
    assert!(first["aws_calls"].as_u64().unwrap() >= 6, "the first sweep reads the zone whole: {first}");

    let warm = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((warm["changes"].clone(), warm["unchanged"].clone()), (json!([]), json!(3)), "{warm}");
    let calls = warm["aws_calls"].as_u64().unwrap();
    assert!(calls <= 4, "1 DescribeInstances and at most 3 lookups, not the zone's 5 pages: {warm}");

    // The tag goes without an event reaching the function: the next sweep finds the name anyway.
    aws.untag(&ids[1]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(r["changes"][0]["name"], "m.dyn.example.com");
    assert!(r["aws_calls"].as_u64().unwrap() <= 5, "{r}");
    assert_eq!(aws.values(&zone, "m.dyn.example.com.", "A").await, None);
    assert_eq!(aws.values(&zone, "_ddns-owner.m.dyn.example.com.", "TXT").await, None);
}

#[tokio::test]
async fn a_marker_the_process_does_not_know_is_found_at_the_next_whole_read() {
    let (moto, aws, zone, ids) = big_zone(0).await;
    // Written by another execution environment: a name of ours this process never learned.
    let other = format!("\"heritage=dynamic-dns-updater,owner=reads,instance={},types=A\"", ids[0]);
    for (every_sweep, found) in [("1h", false), ("0", true)] {
        let app = app(&moto, &vars(&zone, &[("DDNS_FULL_READ", every_sweep)])).await;
        invoke(&app, &sweep()).await.unwrap();
        aws.put(&zone, "UPSERT", "old.dyn.example.com.", "A", 60, &["192.0.2.9"]).await;
        aws.put(&zone, "UPSERT", "_ddns-owner.old.dyn.example.com.", "TXT", 60, &[other.as_str()]).await;
        let r = invoke(&app, &sweep()).await.unwrap();
        let deleted = r["changes"].as_array().unwrap().iter().any(|c| c["name"] == "old.dyn.example.com");
        assert_eq!(deleted, found, "DDNS_FULL_READ={every_sweep}: {r}");
    }
}

#[test]
fn a_bad_full_read_interval_is_refused_naming_it() {
    let lookup = |k: &str| match k {
        "DDNS_RECORDS" => Some(r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com"}]"#.to_string()),
        "DDNS_FULL_READ" => Some("hourly".to_string()),
        _ => None,
    };
    let err = dynamic_dns_updater::config::Config::from_lookup(lookup).unwrap_err();
    assert_eq!(err.0, [r#"DDNS_FULL_READ: "hourly" is not a duration (like 30m, 6h or 0)"#]);
}
