//! A fleet of 1,000 and more against moto, in the test run: DescribeInstances followed past its
//! first page, and the writes split over Route53's batches. Then the scale benchmark, not part of
//! the test run: fleet sweeps of 1, 100 and 1,000 tagged instances (among untagged ones, half as
//! many) in one zone. For each size it reports the first sweep's time and calls, then the
//! in-sync sweep's calls against the theoretical minimum.
//! Benchmark: cargo test --release --test scale -- --ignored --nocapture  (or ./bench.sh)

mod support;

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use aws_smithy_types::timeout::TimeoutConfig;
use serde_json::json;
use support::moto::sdk_at;
use support::proxy::{Call, FaultProxy};
use support::*;

/// moto pages DescribeInstances by reservation, 1,000 a page: one more than that makes two.
const FLEET: usize = 1_001;

/// `count` instances of a reservation each, every one named by a template tag, launched a few at
/// a time.
async fn launch_apart(aws: &Aws, count: usize) {
    let named = Tag::builder().key(TAG_KEY).value("{id}.nodes.example.com").build();
    let spec = TagSpecification::builder().resource_type(ResourceType::Instance).tags(named).build();
    let mut launching = tokio::task::JoinSet::new();
    for i in 0..count {
        if i >= 8 {
            launching.join_next().await.unwrap().unwrap();
        }
        let req = aws.ec2.run_instances().image_id(AMI).instance_type(InstanceType::T3Micro).min_count(1).max_count(1);
        let req = req.tag_specifications(spec.clone());
        launching.spawn(async move { req.send().await.unwrap() });
    }
    while let Some(done) = launching.join_next().await {
        done.unwrap();
    }
}

#[tokio::test]
async fn a_fleet_past_a_describe_page_is_named_in_batches_and_then_in_sync() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let started = Instant::now();
    launch_apart(&aws, FLEET).await;
    println!("launched {FLEET} instances in {:.1} s", started.elapsed().as_secs_f64());

    let proxy = FaultProxy::with(moto.port, &[]);
    // moto takes seconds to answer a page of 1,000 instances, near the function's 5 s attempt
    // timeout on a loaded machine: the clients here wait longer, and the rest is the function's.
    let sdk = sdk_at(&proxy.endpoint()).await;
    let slow = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(40))
        .operation_timeout(Duration::from_secs(120))
        .build();
    let sdk = sdk.into_builder().timeout_config(slow).build();
    let vars = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str()), ("DDNS_OWNER_ID", "fleet")];
    let clients = dynamic_dns_updater::clients::Clients::from_sdk(&sdk).reaching(&sdk, &config(&vars)).await;
    let app = app_with(clients, &vars).await;

    let started = Instant::now();
    let r = invoke(&app, &sweep()).await.unwrap();
    println!("first sweep: {:.1} s, {} calls", started.elapsed().as_secs_f64(), r["aws_calls"]);
    assert_eq!((r["errors"].clone(), r["problems"].clone()), (json!([]), json!([])), "{r}");
    let created = r["changes"].as_array().unwrap();
    assert_eq!(created.len(), FLEET, "a record for every instance, on both pages");
    assert_eq!(proxy.count(Call::DescribeInstances), 2, "the second page was read");
    // A record and its marker per name: 2,002 changes, and their values' 95,000 characters or
    // so, within Route53's 1,000 values and 32,000 characters a request.
    assert!(proxy.count(Call::ChangeRecords) >= 3, "{} requests: {r}", proxy.count(Call::ChangeRecords));
    let held = aws.records(&zone).await;
    assert_eq!(held.len(), 2 * FLEET + 2, "every name, its marker, and the zone's NS and SOA");
    for c in created {
        let (id, name) = (c["instance"].as_str().unwrap(), c["name"].as_str().unwrap());
        assert_eq!((c["action"].as_str(), c["status"].as_str()), (Some("create"), Some("applied")), "{c}");
        assert_eq!(name, format!("{id}.nodes.example.com"), "{c}");
        let value = held.iter().find(|h| h.0 == format!("{name}.") && h.1 == "A").map(|h| h.3.clone());
        assert_eq!(value, Some(vec![c["new"].as_str().unwrap().to_string()]), "{c}");
        assert!(held.iter().any(|h| h.0 == format!("_ddns-owner.{name}.") && h.1 == "TXT"), "{name} has its marker");
    }
    // The addresses are the instances' own: one of them, as EC2 tells it.
    let one = &created[FLEET / 2];
    assert_eq!(aws.public_ip(one["instance"].as_str().unwrap()).await.as_deref(), one["new"].as_str());

    let started = Instant::now();
    let r = invoke(&app, &sweep()).await.unwrap();
    println!("in-sync sweep: {:.1} s, {} calls", started.elapsed().as_secs_f64(), r["aws_calls"]);
    assert_eq!((r["changes"].clone(), r["unchanged"].clone()), (json!([]), json!(FLEET)), "{r}");
    // Two pages of instances, and the zone's 2,004 record sets in pages of 300.
    assert_eq!(r["aws_calls"], 2 + (2 * FLEET + 2).div_ceil(300), "{r}");
}

/// moto launches at most this many instances per RunInstances call.
const LAUNCH_BATCH: usize = 500;

struct Row {
    tagged: usize,
    record_sets: usize,
    first_secs: f64,
    first_calls: u64,
    second_secs: f64,
    second_calls: u64,
    minimum: usize,
}

async fn launch(aws: &Aws, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < count {
        let n = (count - ids.len()).min(LAUNCH_BATCH) as i32;
        let out = aws
            .ec2
            .run_instances()
            .image_id(AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(n)
            .max_count(n)
            .send()
            .await
            .unwrap();
        ids.extend(out.instances().iter().map(|i| i.instance_id().unwrap().to_string()));
    }
    ids
}

async fn sweep_at(tagged: usize) -> Row {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    launch(&aws, tagged / 2).await;
    let ids = launch(&aws, tagged).await;
    for (i, id) in ids.iter().enumerate() {
        let tag = Tag::builder().key(TAG_KEY).value(format!("host-{i:04}.example.com")).build();
        aws.ec2.create_tags().resources(id).tags(tag).send().await.unwrap();
    }
    let app = app(&moto, &[("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &zone), ("DDNS_OWNER_ID", "bench")]).await;

    let started = Instant::now();
    let first = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    let first_secs = started.elapsed().as_secs_f64();
    assert_eq!(first["changes"].as_array().unwrap().len(), tagged);

    let started = Instant::now();
    let second = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    let second_secs = started.elapsed().as_secs_f64();
    assert_eq!(second["changes"].as_array().unwrap().len(), 0);
    assert_eq!(second["unchanged"], tagged);

    // One DescribeInstances page per 1,000 tagged instances, one listing page per 300 record sets.
    let record_sets = aws.records(&zone).await.len();
    let minimum = tagged.div_ceil(1000) + record_sets.div_ceil(300);
    Row {
        tagged,
        record_sets,
        first_secs,
        first_calls: first["aws_calls"].as_u64().unwrap(),
        second_secs,
        second_calls: second["aws_calls"].as_u64().unwrap(),
        minimum,
    }
}

#[tokio::test]
#[ignore = "benchmark; run with --ignored"]
async fn fleet_sweeps_at_1_100_and_1000_records() {
    let mut rows = Vec::new();
    for tagged in [1, 100, 1000] {
        rows.push(sweep_at(tagged).await);
    }
    println!("| records | record sets | first sweep | first calls | in-sync sweep | in-sync calls | minimum |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {:.2} s | {} | {:.2} s | {} | {} |",
            r.tagged, r.record_sets, r.first_secs, r.first_calls, r.second_secs, r.second_calls, r.minimum
        );
    }
    println!();
    println!(
        "minimum: one DescribeInstances page per 1,000 tagged instances + one listing page per 300 record sets \
         (each name has its ownership marker; the zone adds SOA and NS)"
    );
    for r in &rows {
        assert!(r.second_calls <= r.minimum as u64, "{} records: {} calls", r.tagged, r.second_calls);
    }
}
