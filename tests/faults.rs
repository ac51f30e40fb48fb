//! Faults moto cannot produce, injected by a proxy in front of it: throttling, busy Route53,
//! server errors, denials, rejected batches and slow endpoints.

mod support;

use std::time::{Duration, SystemTime};

use dynamic_dns_updater::handler;
use serde_json::json;
use support::*;

fn rule(call: Call, status: u16, code: &'static str, times: usize) -> Rule {
    Rule { call, fault: Fault::Error { status, code }, times }
}

/// A call that answers only after 30 s, every time.
fn hang(call: Call) -> Rule {
    Rule { call, fault: Fault::Delay(Duration::from_secs(30)), times: usize::MAX }
}

#[tokio::test]
async fn throttling_and_busy_answers_are_retried_to_success() {
    let w = world().await;
    let proxy = FaultProxy::start(
        w.moto.port,
        vec![
            rule(Call::DescribeInstances, 503, "RequestLimitExceeded", 1),
            rule(Call::ListRecords, 400, "Throttling", 1),
            rule(Call::ChangeRecords, 400, "Throttling", 1),
            rule(Call::ChangeRecords, 400, "PriorRequestNotComplete", 1),
        ],
    );
    let records = w.records.clone();
    let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", &records)]).await;
    let r = invoke(&app, &state_change(&w.id, "running")).await.unwrap();
    assert_eq!(r["changes"][0]["status"], "applied");
    assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, Some(vec![w.aws.public_ip(&w.id).await.unwrap()]));
    assert_eq!(proxy.count(Call::DescribeInstances), (2, 1));
    assert_eq!(proxy.count(Call::ListRecords), (2, 1));
    assert_eq!(proxy.count(Call::ChangeRecords), (3, 2));
    assert_eq!(r["aws_calls"], 7, "every attempt is counted");
}

#[tokio::test]
async fn persistent_faults_end_in_a_clear_error_and_an_alert_without_damage() {
    for (status, code, kind, attempts) in
        [(500, "InternalFailure", "Route53Error", 4), (403, "AccessDenied", "Route53Denied", 1)]
    {
        let w = world().await;
        let proxy = FaultProxy::start(w.moto.port, vec![rule(Call::ChangeRecords, status, code, usize::MAX)]);
        let sink = WebhookSink::start(Answer::Statuses(vec![200]));
        let records = w.records.clone();
        let url = sink.url();
        let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", &records), ("DDNS_WEBHOOK_URL", &url)]).await;
        let err = invoke(&app, &state_change(&w.id, "running")).await.unwrap_err();
        let d: lambda_runtime::Diagnostic = err.into();
        assert_eq!(d.error_type, kind);
        assert!(d.error_message.contains(code) && d.error_message.contains("app.example.com A"), "{}", d.error_message);
        assert_eq!(proxy.count(Call::ChangeRecords).0, attempts, "{code}");
        assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, None, "no partial damage");
        let alert = sink.received()[0].json();
        assert_eq!(alert["event"], "dns.failed");
        assert_eq!(alert["errors"][0]["kind"], kind);
        assert_eq!(alert["changes"], json!([]), "nothing took effect");
    }
}

#[tokio::test]
async fn a_rejected_batch_falls_back_to_one_name_at_a_time() {
    let w = world().await;
    let proxy = FaultProxy::start(
        w.moto.port,
        vec![rule(Call::ChangeMentioning("bad.example.com"), 400, "InvalidChangeBatch", usize::MAX)],
    );
    let records = records_var(&[
        (&w.id, &w.zone, "a.example.com", &["A"]),
        (&w.id, &w.zone, "bad.example.com", &["A"]),
        (&w.id, &w.zone, "c.example.com", &["A"]),
    ]);
    let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", &records)]).await;
    let err = invoke(&app, &fixture("scheduled-event.json")).await.unwrap_err();
    let handler::Error::Failed { report, kind, .. } = err else { panic!() };
    assert_eq!(format!("{kind:?}"), "Route53Rejected");
    let status: Vec<(String, &str)> = report.changes.iter().map(|c| (c.name.clone(), c.status)).collect();
    assert!(
        status.contains(&("a.example.com".into(), "applied")) && status.contains(&("c.example.com".into(), "applied")),
        "{status:?}"
    );
    assert!(status.contains(&("bad.example.com".into(), "failed")), "{status:?}");
    assert!(w.aws.values(&w.zone, "a.example.com.", "A").await.is_some());
    assert!(w.aws.values(&w.zone, "c.example.com.", "A").await.is_some());
    // One batch, one request per name, then the rejected name once more after a fresh read.
    assert_eq!(proxy.count(Call::ChangeRecords), (5, 3));
}

#[tokio::test]
async fn a_change_rejected_because_the_record_moved_is_read_and_planned_again() {
    let w = world().await;
    // The first write is rejected, as when another invocation wrote the record first.
    let proxy = FaultProxy::start(w.moto.port, vec![rule(Call::ChangeRecords, 400, "InvalidChangeBatch", 1)]);
    let records = w.records.clone();
    let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", &records)]).await;
    let r = invoke(&app, &state_change(&w.id, "running")).await.unwrap();
    assert_eq!(r["changes"][0]["status"], "applied", "{r}");
    assert_eq!(proxy.count(Call::ChangeRecords), (2, 1));
    assert_eq!(proxy.count(Call::ListRecords), (2, 0), "read again before the second try");
    assert!(w.aws.values(&w.zone, "app.example.com.", "A").await.is_some());
}

#[tokio::test]
async fn a_slow_endpoint_cannot_push_past_the_deadline() {
    let w = world().await;
    let proxy = FaultProxy::start(w.moto.port, vec![hang(Call::DescribeInstances)]);
    let records = w.records.clone();
    let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", &records)]).await;
    let deadline = SystemTime::now() + Duration::from_secs(3);
    let err = handler::handle(&app, &fixture("scheduled-event.json"), deadline, None).await.unwrap_err();
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "Deadline", "{}", d.error_message);
}

#[tokio::test]
async fn the_binary_answers_before_the_runtime_deadline_when_aws_is_slow() {
    let w = world().await;
    let proxy = FaultProxy::start(w.moto.port, vec![hang(Call::ListRecords)]);
    let runtime = RuntimeApi::start();
    let mut env = w.moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    env.push(("DDNS_RECORDS".into(), w.records.clone()));
    let function = Function::start(&runtime, &env);
    let timeout = Duration::from_secs(4);
    let deadline = SystemTime::now() + timeout;
    let answer = runtime.invoke(&fixture("scheduled-event.json"), timeout);
    assert!(SystemTime::now() < deadline, "answered after Lambda-Runtime-Deadline-Ms\n{}", function.log());
    let Answered::Error(e) = answer else { panic!("{answer:?}") };
    assert_eq!(e["errorType"], "Deadline");
    // And it goes on serving.
    let _ = proxy; // the fault stays; a bad event is still answered at once
    let Answered::Error(e) = runtime.invoke(&json!({}), timeout) else { panic!() };
    assert_eq!(e["errorType"], "UnsupportedEvent");
}
