//! Scale benchmark, not part of the test run: fleet sweeps of 1, 100 and 1,000 tagged instances
//! (among untagged ones, half as many) in one zone. For each size it reports the first sweep's
//! time and calls, then the in-sync sweep's calls against the theoretical minimum.
//! Run: cargo test --release --test scale -- --ignored --nocapture  (or ./bench.sh)

mod support;

use std::time::Instant;

use aws_sdk_ec2::types::{InstanceType, Tag};
use support::*;

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
