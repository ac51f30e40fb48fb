//! Faults moto cannot produce: throttling, busy Route53, server errors, denials, rejected
//! batches and endpoints that never answer. In-process through aws-smithy-mocks, and once
//! through a proxy in front of moto where the real function process is under test.

mod support;

use std::time::{Duration, SystemTime};

use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Reservation};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types::RrType;
use aws_smithy_mocks::{Rule, mock};
use dynamic_dns_updater::handler::{self, Invocation};
use dynamic_dns_updater::report;
use serde_json::json;
use support::mocks::{self, ec2_error, route53_error};
use support::proxy::{Call, FaultProxy};
use support::*;

const ID: &str = "i-1234567890abcdef0";
const IP: &str = "3.1.2.4";
const ZONE: &str = "ZMOCK1";

fn records(names: &[&str]) -> String {
    records_var(&names.iter().map(|n| (ID, ZONE, *n, &["A"][..])).collect::<Vec<_>>())
}

fn running() -> DescribeInstancesOutput {
    let state = InstanceState::builder().name(InstanceStateName::Running).build();
    let instance = Instance::builder().instance_id(ID).state(state).public_ip_address(IP).build();
    DescribeInstancesOutput::builder().reservations(Reservation::builder().instances(instance).build()).build()
}

fn empty_zone() -> ListResourceRecordSetsOutput {
    mocks::listing(vec![])
}

fn describe_ok() -> Rule {
    mock!(aws_sdk_ec2::Client::describe_instances).then_output(running)
}

fn list_ok() -> Rule {
    mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(empty_zone)
}

fn change_ok() -> Rule {
    mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(mocks::written)
}

/// Change batches that name `name`.
fn change_naming(
    name: &'static str,
) -> aws_smithy_mocks::RuleBuilder<
    aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsInput,
    ChangeResourceRecordSetsOutput,
    aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError,
> {
    mock!(aws_sdk_route53::Client::change_resource_record_sets).match_requests(move |req| {
        req.change_batch()
            .is_some_and(|b| b.changes().iter().any(|c| c.resource_record_set().is_some_and(|s| s.name() == name)))
    })
}

#[tokio::test]
async fn throttling_and_busy_answers_are_retried_to_success() {
    let describe = mock!(aws_sdk_ec2::Client::describe_instances)
        .sequence()
        .http_response(|| ec2_error(503, "RequestLimitExceeded"))
        .output(running)
        .build();
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .sequence()
        .http_response(|| route53_error(400, "Throttling"))
        .output(empty_zone)
        .build();
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .sequence()
        .http_response(|| route53_error(400, "Throttling"))
        .http_response(|| route53_error(400, "PriorRequestNotComplete"))
        .output(mocks::written)
        .build();
    let app = app_with(
        mocks::clients(&[&describe], &[&list, &change]).await,
        &[("DDNS_RECORDS", &records(&["app.example.com"]))],
    )
    .await;
    let r = invoke(&app, &state_change(ID, "running")).await.unwrap();
    assert_eq!(r["changes"][0]["status"], "applied");
    assert_eq!(r["changes"][0]["new"], IP);
    assert_eq!((describe.num_calls(), list.num_calls(), change.num_calls()), (2, 2, 3));
    assert_eq!(r["aws_calls"], 7, "every attempt is counted");
}

#[tokio::test]
async fn persistent_faults_end_in_a_clear_error_or_problem_and_an_alert_without_damage() {
    for (status, code, kind, attempts, fails) in
        [(500, "InternalFailure", "Route53Error", 4, true), (403, "AccessDenied", "Route53Denied", 1, false)]
    {
        let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
            .then_http_response(move || route53_error(status, code));
        let sink = WebhookSink::start(Reply::Statuses(vec![200]));
        let url = sink.url();
        // A server error alerts only once it has lasted DDNS_ALERT_AFTER; 0 alerts at once.
        let vars = [
            ("DDNS_RECORDS", records(&["app.example.com"])),
            ("DDNS_WEBHOOK_URL", url),
            ("DDNS_ALERT_AFTER", "0".into()),
        ];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let app = app_with(mocks::clients(&[&describe_ok()], &[&list_ok(), &change]).await, &vars).await;
        // A server error may pass, so the event fails for Lambda to retry; a denial will not.
        let summary = match answer(&app, &state_change(ID, "running")).await {
            Err(err) => {
                let d: lambda_runtime::Diagnostic = err.into();
                assert_eq!(d.error_type, kind);
                d.error_message
            }
            Ok(a) => {
                assert!(a.errors.is_empty() && a.problems[0].kind.error_type() == kind, "{a:?}");
                a.error_summary()
            }
        };
        assert_eq!(summary.contains(" error(s) during"), fails, "{summary}");
        assert!(summary.contains(code) && summary.contains("app.example.com A"), "{summary}");
        assert_eq!(change.num_calls(), attempts, "{code}");
        let alert = sink.received()[0].json();
        assert_eq!(alert["event"], "dns.failed");
        assert_eq!(alert["errors"][0]["kind"], kind);
        assert_eq!(alert["changes"], json!([]), "nothing took effect");
    }
}

#[tokio::test]
async fn a_rejected_batch_falls_back_to_one_name_at_a_time() {
    let bad = change_naming("bad.example.com.").then_http_response(|| route53_error(400, "InvalidChangeBatch"));
    let (list, change) = (list_ok(), change_ok());
    let names = records(&["a.example.com", "bad.example.com", "c.example.com"]);
    let app =
        app_with(mocks::clients(&[&describe_ok()], &[&list, &bad, &change]).await, &[("DDNS_RECORDS", &names)]).await;
    let answer = answer(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(answer.problems[0].kind.error_type(), "Route53Rejected");
    let status: Vec<(String, report::ChangeStatus)> =
        answer.changes.iter().map(|c| (c.name.clone(), c.status)).collect();
    assert!(
        status.contains(&("a.example.com".into(), report::ChangeStatus::Applied))
            && status.contains(&("c.example.com".into(), report::ChangeStatus::Applied)),
        "{status:?}"
    );
    assert!(status.contains(&("bad.example.com".into(), report::ChangeStatus::Failed)), "{status:?}");
    // One batch, one request per name, then the rejected name once more after a fresh read.
    assert_eq!((bad.num_calls() + change.num_calls(), bad.num_calls()), (5, 3));
    assert_eq!(list.num_calls(), 2);
}

#[tokio::test]
async fn a_change_rejected_because_the_record_moved_is_read_and_planned_again() {
    // The first write is rejected, as when another invocation wrote the record first.
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .sequence()
        .http_response(|| route53_error(400, "InvalidChangeBatch"))
        .output(mocks::written)
        .build();
    // The second read sees what the other invocation wrote: our record, at an older address.
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .sequence()
        .output(empty_zone)
        .output(|| {
            let marker = format!("\"heritage=dynamic-dns-updater,owner=faults,instance={ID},types=A\"");
            mocks::listing(vec![
                mocks::record_set("app.example.com.", RrType::A, "3.1.2.99"),
                mocks::record_set("_ddns-owner.app.example.com.", RrType::Txt, &marker),
            ])
        })
        .build();
    let vars = [("DDNS_RECORDS", records(&["app.example.com"])), ("DDNS_OWNER_ID", "faults".into())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = app_with(mocks::clients(&[&describe_ok()], &[&list, &change]).await, &vars).await;
    let r = invoke(&app, &state_change(ID, "running")).await.unwrap();
    let c = &r["changes"][0];
    assert_eq!(
        (c["action"].as_str(), c["old"].as_str(), c["new"].as_str(), c["status"].as_str()),
        (Some("update"), Some("3.1.2.99"), Some(IP), Some("applied")),
        "planned again on what the second read found: {r}"
    );
    assert_eq!(r["changes"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(change.num_calls(), 2);
    assert_eq!(list.num_calls(), 2, "read again before the second try");
}

#[tokio::test]
async fn a_name_that_became_another_owners_before_the_second_try_is_left_alone_and_said() {
    // The write is rejected because somebody else put a CNAME at the name meanwhile.
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .then_http_response(|| route53_error(400, "InvalidChangeBatch"));
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .sequence()
        .output(empty_zone)
        .output(|| mocks::listing(vec![mocks::record_set("app.example.com.", RrType::Cname, "elsewhere.example.net.")]))
        .build();
    let app = app_with(
        mocks::clients(&[&describe_ok()], &[&list, &change]).await,
        &[("DDNS_RECORDS", &records(&["app.example.com"]))],
    )
    .await;
    let answer = answer(&app, &state_change(ID, "running")).await.unwrap();
    let kinds: Vec<&str> = answer.problems.iter().map(|p| p.kind.error_type()).collect();
    assert!(kinds.contains(&"Conflict"), "{kinds:?}");
    assert_eq!((change.num_calls(), list.num_calls()), (1, 2), "read again, and not written over");
}

#[tokio::test]
async fn a_slow_endpoint_cannot_push_past_the_deadline() {
    let app = app_with(mocks::hanging().await, &[("DDNS_RECORDS", &records(&["app.example.com"]))]).await;
    let deadline = SystemTime::now() + Duration::from_secs(3);
    let event = state_change(ID, "running");
    let err = handler::handle(&app, &event, Invocation { deadline, account: None }).await.unwrap_err();
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "Deadline", "{}", d.error_message);
}

#[tokio::test]
async fn the_binary_answers_before_the_runtime_deadline_when_aws_is_slow() {
    let w = world().await;
    let proxy = FaultProxy::start(w.moto.port, Call::ListRecords, Duration::from_secs(30));
    let runtime = RuntimeApi::start();
    let mut env = w.moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    env.push(("DDNS_RECORDS".into(), w.records.clone()));
    let function = Function::start(&runtime, &env);
    let timeout = Duration::from_secs(4);
    // Measured from when the function took the event: its cold start is no part of the deadline.
    let (answer, took) = runtime.invoke_timed(&state_change(&w.id, "running"), timeout);
    assert!(
        took < timeout,
        "answered {took:?} after the event, past Lambda-Runtime-Deadline-Ms\n{}",
        function.log_so_far()
    );
    let Answered::Error(e) = answer else { panic!("{answer:?}") };
    assert_eq!(e["errorType"], "Deadline");
    // A sweep that runs out of time reports it and succeeds: the next sweep is a minute away.
    let Answered::Response(r) = runtime.invoke(&fixture("scheduled-event.json"), timeout) else { panic!() };
    assert_eq!(r["errors"][0]["kind"], "Deadline", "{r}");
    assert_eq!(proxy.count(Call::ListRecords), 2, "the reads that hung");
    // And it goes on serving: a bad event is still answered at once.
    let Answered::Error(e) = runtime.invoke(&json!({}), timeout) else { panic!() };
    assert_eq!(e["errorType"], "UnsupportedEvent");
}

#[tokio::test]
async fn persistent_throttling_fails_an_event_for_a_retry_but_never_a_sweep() {
    let throttled = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .then_http_response(|| route53_error(400, "Throttling"));
    let app = app_with(
        mocks::clients(&[&describe_ok()], &[&throttled]).await,
        &[("DDNS_RECORDS", &records(&["app.example.com"]))],
    )
    .await;
    let err = answer(&app, &state_change(ID, "running")).await.unwrap_err();
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "Route53Throttled", "{}", d.error_message);
    assert_eq!(throttled.num_calls(), 4, "the SDK's own retries first");
    // The next sweep is a minute away: a sweep reports the failure and succeeds.
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(r["errors"][0]["kind"], "Route53Throttled", "{r}");
    assert_eq!(r["errors"][0]["scope"], ZONE);
}

#[tokio::test]
async fn a_batch_iam_denies_is_halved_until_the_denied_name_is_found() {
    let denied = change_naming("outside.example.com.").then_http_response(|| route53_error(403, "AccessDenied"));
    let change = change_ok();
    let names = records(&["a.example.com", "outside.example.com"]);
    let app =
        app_with(mocks::clients(&[&describe_ok()], &[&list_ok(), &denied, &change]).await, &[("DDNS_RECORDS", &names)])
            .await;
    let r = invoke(&app, &fixture("scheduled-event.json")).await.unwrap();
    let status: Vec<(&str, &str)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(status, [("a.example.com", "applied"), ("outside.example.com", "failed")], "{r}");
    assert_eq!(r["problems"][0]["kind"], "Route53Denied");
    // The whole batch once, then its halves: the half holding a.example.com goes through, so the
    // other half, one name, is the one denied, known without sending it again.
    assert_eq!((denied.num_calls(), change.num_calls()), (1, 1));
}

/// A zone holding `app.example.com`'s A and AAAA records under our marker, which names both types.
fn dual_stack_zone() -> ListResourceRecordSetsOutput {
    let marker = format!("\"heritage=dynamic-dns-updater,owner=faults,instance={ID},types=A+AAAA\"");
    mocks::listing(vec![
        mocks::record_set("app.example.com.", RrType::A, IP),
        mocks::record_set("app.example.com.", RrType::Aaaa, "2600:1f18::1"),
        mocks::record_set("_ddns-owner.app.example.com.", RrType::Txt, &marker),
    ])
}

#[tokio::test]
async fn a_marker_is_narrowed_only_after_the_record_it_stops_guarding_is_gone() {
    // AAAA is dropped from the mapping; the delete of the AAAA record is throttled throughout.
    let vars = [("DDNS_RECORDS", records(&["app.example.com"])), ("DDNS_OWNER_ID", "faults".into())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(dual_stack_zone);
    let marker = change_naming("_ddns-owner.app.example.com.").then_output(mocks::written);
    let throttled = change_naming("app.example.com.").then_http_response(|| route53_error(400, "Throttling"));
    let app = app_with(mocks::clients(&[&describe_ok()], &[&list, &marker, &throttled]).await, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    let changes: Vec<(String, String, String)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().into(),
                c["type"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(changes, [("delete".to_string(), "AAAA".to_string(), "failed".to_string())], "{r}");
    assert_eq!(marker.num_calls(), 0, "the marker still guards the AAAA record that is still there: {r}");
    assert!(throttled.num_calls() >= 1);

    // The next sweep, with Route53 answering, deletes the record and then narrows the marker.
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(dual_stack_zone);
    let marker = change_naming("_ddns-owner.app.example.com.").then_output(mocks::written);
    let deleted = change_naming("app.example.com.").then_output(mocks::written);
    let app = app_with(mocks::clients(&[&describe_ok()], &[&list, &marker, &deleted]).await, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((deleted.num_calls(), marker.num_calls()), (1, 1), "{r}");
    assert_eq!((r["changes"][0]["type"].clone(), r["changes"][0]["status"].clone()), (json!("AAAA"), json!("applied")));
    assert_eq!(r["markers_changed"], 1, "{r}");
}

/// A zone holding a.example.com's and b.example.com's A records under markers of owner `faults`.
fn two_of_ours() -> ListResourceRecordSetsOutput {
    let marker = format!("\"heritage=dynamic-dns-updater,owner=faults,instance={ID},types=A\"");
    mocks::listing(vec![
        mocks::record_set("a.example.com.", RrType::A, IP),
        mocks::record_set("_ddns-owner.a.example.com.", RrType::Txt, &marker),
        mocks::record_set("b.example.com.", RrType::A, IP),
        mocks::record_set("_ddns-owner.b.example.com.", RrType::Txt, &marker),
    ])
}

#[tokio::test]
async fn a_release_that_cannot_finish_fails_naming_what_is_left_and_keeps_its_incidents() {
    use aws_sdk_ssm::operation::delete_parameter::DeleteParameterOutput;
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
    use aws_sdk_ssm::types::Parameter;
    let store = "/ddns/incidents";
    // The incidents parameter is kept only where there are alerts to keep.
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let vars = [
        ("DDNS_WEBHOOK_URL", sink.url()),
        ("DDNS_RECORDS", records(&["a.example.com", "b.example.com"])),
        ("DDNS_OWNER_ID", "faults".into()),
        ("DDNS_INCIDENTS_PARAMETER", store.into()),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for denied_b in [true, false] {
        let list = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(two_of_ours);
        let denied = change_naming("b.example.com.").then_http_response(|| route53_error(403, "AccessDenied"));
        let change = change_ok();
        let stored = mock!(aws_sdk_ssm::Client::get_parameter).then_output(|| {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().value("{\"v\": 1, \"open\": []}").build())
                .build()
        });
        let deleted = mock!(aws_sdk_ssm::Client::delete_parameter)
            .match_requests(move |r| r.name() == Some(store))
            .then_output(|| DeleteParameterOutput::builder().build());
        let kept = mock!(aws_sdk_ssm::Client::put_parameter).then_output(|| PutParameterOutput::builder().build());
        let route53: Vec<&Rule> = if denied_b { vec![&list, &denied, &change] } else { vec![&list, &change] };
        let clients = mocks::clients_with_ssm(&[&describe_ok()], &route53, &[&stored, &deleted, &kept]).await;
        let app = app_with(clients, &vars).await;
        let got = answer(&app, &json!({"action": "release"})).await;
        if denied_b {
            let d: lambda_runtime::Diagnostic = got.unwrap_err().into();
            assert_eq!(d.error_type, "Route53Denied", "{}", d.error_message);
            assert!(
                d.error_message.contains("b.example.com A") && d.error_message.contains("AccessDenied"),
                "{}",
                d.error_message
            );
            assert!(!d.error_message.contains("a.example.com"), "what went is not named: {}", d.error_message);
            assert_eq!(deleted.num_calls(), 0, "the incidents stay while something of ours is left");
        } else {
            let a = got.unwrap();
            assert_eq!((a.changes.len(), a.markers_changed), (2, 2), "{a:?}");
            assert_eq!(deleted.num_calls(), 1, "nothing of ours is left: its incidents parameter goes too");
        }
    }
}
