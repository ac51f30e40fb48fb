//! Scale benchmark, not part of the test run: 1,000 tagged instances among 500 untagged ones,
//! in one zone. Reports the first sweep's time and calls, then the in-sync sweep's calls.
//! Run: cargo test --release --test scale -- --ignored --nocapture  (or ./bench.sh)

mod support;

use std::time::Instant;

use aws_sdk_ec2::types::{InstanceType, Tag};
use support::*;

#[tokio::test]
#[ignore = "benchmark; run with --ignored"]
async fn thousand_tagged_instances_in_one_sweep() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let mut tagged = Vec::new();
    for (count, tag) in [(500, false), (500, true), (500, true)] {
        let out = aws
            .ec2
            .run_instances()
            .image_id(AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(count)
            .max_count(count)
            .send()
            .await
            .unwrap();
        if tag {
            tagged.extend(out.instances().iter().map(|i| i.instance_id().unwrap().to_string()));
        }
    }
    for (i, id) in tagged.iter().enumerate() {
        let tag = Tag::builder().key("ddns:name").value(format!("host-{i:04}.example.com")).build();
        aws.ec2.create_tags().resources(id).tags(tag).send().await.unwrap();
    }
    let app = app(&moto, &[("DDNS_TAG_KEY", "ddns:name"), ("DDNS_ZONES", &zone), ("DDNS_OWNER_ID", "bench")]).await;

    let started = Instant::now();
    let first = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    let first_time = started.elapsed();
    assert_eq!(first["changes"].as_array().unwrap().len(), 1000);

    let started = Instant::now();
    let second = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    let second_time = started.elapsed();
    assert_eq!(second["changes"].as_array().unwrap().len(), 0);
    assert_eq!(second["unchanged"], 1000);

    let record_sets = aws.records(&zone).await.len();
    let pages = record_sets.div_ceil(300);
    let minimum = 1 + pages;
    println!("| sweep | records | time | AWS calls | writes |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| first (creates 1,000 names + markers) | 1,000 of 1,500 instances | {:.2} s | {} | {} |",
        first_time.as_secs_f64(),
        first["aws_calls"],
        first["aws_calls"].as_u64().unwrap() - 2
    );
    println!(
        "| second (in sync) | {record_sets} record sets | {:.2} s | {} | 0 |",
        second_time.as_secs_f64(),
        second["aws_calls"]
    );
    println!();
    println!(
        "target for the in-sync sweep: at most 2 DescribeInstances pages + ceil({record_sets}/300) = {} listing pages = {}",
        pages,
        2 + pages
    );
    println!("theoretical minimum: 1 DescribeInstances page + {pages} listing pages = {minimum}");
    assert!(second["aws_calls"].as_u64().unwrap() <= (2 + pages) as u64);
}
