//! Route53's limits against moto behind a proxy: a first sweep under a quota of 5 requests a
//! second is never throttled, since the function paces its own requests, and a sweep the
//! deadline cuts short stops between batches, says how far it got, and the next sweep carries on.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use dynamic_dns_updater::handler::{self, Invocation};
use serde_json::{Value, json};
use support::proxy::{Call, Fault, FaultProxy, Rate};
use support::*;

/// Four zones, `per_zone` tagged instances with a name in each, and `fillers` record sets that
/// are not ours in each zone.
async fn estate(aws: &Aws, per_zone: usize, fillers: usize) -> Vec<String> {
    let mut zones = Vec::new();
    for z in ["a", "b", "c", "d"] {
        let zone = aws.zone(&format!("{z}.example.test")).await;
        for i in 0..fillers {
            aws.put(&zone, "CREATE", &format!("host-{i}.{z}.example.test."), "A", 300, &["192.0.2.1"]).await;
        }
        for i in 0..per_zone {
            let id = aws.run_instance().await;
            aws.tag(&id, &format!("n{i}.{z}.example.test")).await;
        }
        zones.push(zone);
    }
    zones
}

/// Every A record of ours, as (name, has its marker).
async fn ours(aws: &Aws, zones: &[String]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for zone in zones {
        let records = aws.records(zone).await;
        for r in records.iter().filter(|r| r.1 == "A" && r.0.starts_with('n')) {
            let marked = records.iter().any(|m| m.1 == "TXT" && m.0 == format!("_ddns-owner.{}", r.0));
            out.push((r.0.clone(), marked));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_first_sweep_under_a_quota_of_five_requests_a_second_is_never_throttled() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zones = estate(&aws, 5, 40).await;
    let rate = Rate::new(5);
    let faults = [(Call::ListRecords, Fault::Rate(rate.clone())), (Call::ChangeRecords, Fault::Rate(rate.clone()))];
    let proxy = FaultProxy::with(moto.port, &faults);
    let vars = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &zones.join(",")), ("DDNS_OWNER_ID", "pacing")];
    let app = app_at(&proxy.endpoint(), &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    let turned_away = rate.throttled.load(Ordering::SeqCst);
    println!("throttled by the proxy: {turned_away}, aws_calls: {}", r["aws_calls"]);
    assert_eq!((r["errors"].clone(), r["problems"].clone()), (json!([]), json!([])), "{r}");
    assert_eq!(turned_away, 0, "the function keeps its own requests within the quota: {r}");
    assert_eq!(r["changes"].as_array().unwrap().len(), 20, "{r}");
    assert!(ours(&aws, &zones).await.iter().all(|(_, marked)| *marked));
}

/// The time before the deadline of each sweep that the deadline cuts short.
const SWEEP_SECS: u64 = 15;

/// A sweep with this long before the deadline.
async fn sweep_within(app: &dynamic_dns_updater::app::App, secs: u64) -> Value {
    let invocation = Invocation { deadline: SystemTime::now() + Duration::from_secs(secs), account: None };
    let answer = handler::handle(app, &sweep(), invocation).await.unwrap();
    serde_json::to_value(answer).unwrap()
}

#[tokio::test]
async fn a_sweep_cut_short_by_the_deadline_stops_between_batches_and_the_next_carries_on() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zones = estate(&aws, 2, 0).await;
    // Each zone's changes go in one batch, and each batch takes 3 s. A sweep with 15 s has about
    // 11 s for AWS (the rest is kept for the webhook and the answer): never room for the four
    // batches, and room for one however long the reads take up to 8 s.
    let proxy = FaultProxy::start(moto.port, Call::ChangeRecords, Duration::from_secs(3));
    let vars = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &zones.join(",")), ("DDNS_OWNER_ID", "pacing")];
    let app = app_at(&proxy.endpoint(), &vars).await;

    let first = sweep_within(&app, SWEEP_SECS).await;
    let errors = first["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{first}");
    assert_eq!(errors[0]["kind"], "Deadline");
    let message = errors[0]["message"].as_str().unwrap();
    println!("first sweep: {message}");
    assert!(
        message.contains("stopped between change batches") && message.contains("of 16 changes written"),
        "{message}"
    );
    let written = ours(&aws, &zones).await;
    assert!(written.len() < 8, "cut short: {written:?}");
    assert!(written.iter().all(|(_, marked)| *marked), "never half a name: {written:?}");

    // The next sweeps carry on where it stopped: every one writes names the last left.
    let mut sweeps = 1;
    while ours(&aws, &zones).await.len() < 8 {
        let before = ours(&aws, &zones).await.len();
        let r = sweep_within(&app, SWEEP_SECS).await;
        sweeps += 1;
        println!("sweep {sweeps}: {} changes, errors {}", r["changes"].as_array().unwrap().len(), r["errors"]);
        let after = ours(&aws, &zones).await;
        assert!(after.len() > before, "sweep {sweeps} made no progress: {r}");
        assert!(after.iter().all(|(_, marked)| *marked), "never half a name: {after:?}");
        assert!(sweeps <= 8, "{r}");
    }
    let r = sweep_within(&app, SWEEP_SECS).await;
    assert_eq!(
        (r["changes"].clone(), r["errors"].clone()),
        (json!([]), json!([])),
        "in sync after {sweeps} sweeps: {r}"
    );
}
