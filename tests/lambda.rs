//! The built binary, run as Lambda runs it: polling a Runtime API on loopback.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::proxy::{Call, Fault, FaultProxy};
use support::*;

#[tokio::test]
async fn one_process_serves_running_scheduled_and_malformed_events() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let runtime = RuntimeApi::start();
    let mut env = moto.env();
    env.push(("DDNS_RECORDS".into(), records_var(&[(&id, &zone, "app.example.com", &["A"])])));
    let function = Function::start(&runtime, &env);
    let timeout = Duration::from_secs(20);

    let Answered::Response(r) = runtime.invoke(&state_change(&id, "running"), timeout) else {
        panic!("{}", function.log_so_far())
    };
    assert_eq!(r["changes"][0]["action"], "create");
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![aws.public_ip(&id).await.unwrap()]));

    let Answered::Response(r) = runtime.invoke(&fixture("scheduled-event.json"), timeout) else {
        panic!("{}", function.log_so_far())
    };
    assert_eq!((r["unchanged"].clone(), r["aws_calls"].clone()), (json!(1), json!(2)));

    let mut no_detail = state_change(&id, "running");
    no_detail.as_object_mut().unwrap().remove("detail");
    let mut other_source = fixture("scheduled-event.json");
    other_source["source"] = json!("aws.s3");
    for bad in [json!({}), json!([1, 2]), json!("hello"), no_detail, other_source, json!({"action": "explode"})] {
        match runtime.invoke(&bad, timeout) {
            Answered::Error(e) => {
                assert_eq!(e["errorType"], "UnsupportedEvent", "{bad}: {e}");
                assert!(e["errorMessage"].as_str().unwrap().contains("received"), "{e}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }

    // Still serving after the bad ones.
    let Answered::Response(r) = runtime.invoke(&fixture("scheduled-event.json"), timeout) else {
        panic!("{}", function.log_so_far())
    };
    assert_eq!(r["unchanged"], 1);

    // Read once the process has exited and every line is in.
    let log = function.stop();
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let finished = lines.iter().filter(|l| l["fields"]["message"] == "invocation finished").count();
    assert_eq!(finished, 3, "one summary line per reconcile:\n{log}");
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "record change" && l["fields"]["action"] == "Create"),
        "{log}"
    );
    let emf: Vec<_> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    // One metrics line per invocation: 3 reconciles and 6 rejected events.
    assert_eq!(emf.len(), 9, "one metrics line per invocation:\n{log}");
    assert_eq!(emf[1]["RecordsInSync"], 1);
    assert_eq!(emf[1]["AwsCalls"], 2);
    assert_eq!(emf.iter().filter(|m| m["Failures"] == 1).count(), 6, "each rejected event counts as a failure");
}

#[test]
fn invalid_configuration_stops_the_process_before_serving() {
    let runtime = RuntimeApi::start();
    let env = vec![
        (
            "DDNS_RECORDS".to_string(),
            r#"[{"instance_id":"i-1234567890abcdef0","zone_id":"Z1","name":"app.example.com"}]"#.to_string(),
        ),
        ("DDNS_TTL".to_string(), "soon".to_string()),
        ("DDNS_ON_STOP".to_string(), "maybe".to_string()),
    ];
    let function = Function::start(&runtime, &env);
    let (status, log) = function.wait_exit(Duration::from_secs(20));
    assert!(!status.expect("the process exits").success());
    assert!(log.contains("DDNS_TTL") && log.contains("DDNS_ON_STOP"), "{log}");
    // No webhook can say so: the one metrics line is what the start-up alarm sees.
    let metrics: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l.get("_aws").is_some())
        .collect();
    assert_eq!(metrics.len(), 1, "{log}");
    let line = &metrics[0];
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"],
        json!([{
            "Namespace": "DynamicDnsUpdater",
            "Dimensions": [["FunctionName"]],
            "Metrics": [{"Name": "StartupFailures", "Unit": "Count"}],
        }]),
        "{log}"
    );
    assert_eq!((line["StartupFailures"].clone(), line["FunctionName"].clone()), (json!(1), json!("ddns-test")));
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let stamp = line["_aws"]["Timestamp"].as_u64().unwrap();
    assert!(stamp <= now_ms && now_ms - stamp < 600_000, "a time in milliseconds, just now: {stamp}");
}

#[tokio::test]
async fn secrets_never_reach_the_logs_and_the_answer_beats_the_deadline() {
    use aws_sdk_ssm::types::ParameterType;
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    // A receiver that never answers, behind a URL holding a token.
    let sink = WebhookSink::start(Reply::Never);
    let url = sink.url();
    aws.ssm.put_parameter().name("/ddns/url").value(&url).r#type(ParameterType::SecureString).send().await.unwrap();
    aws.ssm
        .put_parameter()
        .name("/ddns/secret")
        .value("very-secret-value")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let runtime = RuntimeApi::start();
    let mut env = moto.env();
    env.push(("DDNS_RECORDS".into(), records_var(&[(&id, &zone, "app.example.com", &["A"])])));
    env.push(("DDNS_WEBHOOK_URL_PARAMETER".into(), "/ddns/url".into()));
    env.push(("DDNS_WEBHOOK_SECRET_PARAMETER".into(), "/ddns/secret".into()));
    env.push(("RUST_LOG".into(), "debug".into()));
    let function = Function::start(&runtime, &env);

    let timeout = Duration::from_secs(5);
    // Measured from when the function took the event: its cold start is no part of the deadline.
    let (answer, took) = runtime.invoke_timed(&state_change(&id, "running"), timeout);
    assert!(took < timeout, "answered {took:?} after the event, past Lambda-Runtime-Deadline-Ms");
    let Answered::Response(r) = answer else { panic!("{answer:?}\n{}", function.log_so_far()) };
    assert!(r["webhook"]["error"].is_string());
    assert!(aws.values(&zone, "app.example.com.", "A").await.is_some());
    let test = runtime.invoke(&json!({"action": "test-webhook"}), timeout);
    let Answered::Error(e) = &test else { panic!("{test:?}") };
    assert_eq!(e["errorType"], "WebhookFailed", "{e}");
    assert!(e["errorMessage"].as_str().unwrap().contains("test webhook failed"), "{e}");

    let log = function.stop();
    assert!(log.contains("webhook delivery failed"), "{log}");
    for secret in ["secret-path-token", "very-secret-value", url.as_str()] {
        assert!(!log.contains(secret), "{secret:?} leaked into the logs:\n{log}");
        for answer in [&r, e] {
            assert!(!answer.to_string().contains(secret), "{secret:?} leaked into an answer: {answer}");
        }
    }
}

#[tokio::test]
async fn an_event_and_a_sweep_racing_in_two_processes_both_succeed() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    // Both processes read before either writes: the proxy lets their reads through together.
    let proxy = FaultProxy::with(moto.port, &[(Call::ListRecords, Fault::Together(2))]);
    let mut env = moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    env.push(("DDNS_RECORDS".into(), records_var(&[(&id, &zone, "race.example.com", &["A"])])));
    let (rt1, rt2) = (RuntimeApi::start(), RuntimeApi::start());
    let (f1, f2) = (Function::start(&rt1, &env), Function::start(&rt2, &env));
    let timeout = Duration::from_secs(20);
    for round in 0..4 {
        if round > 0 {
            aws.stop(&id).await;
            aws.start(&id).await;
            proxy.rearm();
        }
        let reads = proxy.count(Call::ListRecords);
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| rt1.invoke(&state_change(&id, "running"), timeout));
            let b = s.spawn(|| rt2.invoke(&fixture("scheduled-event.json"), timeout));
            (a.join().unwrap(), b.join().unwrap())
        });
        let (Answered::Response(a), Answered::Response(b)) = (&a, &b) else {
            panic!("round {round}: {a:?}\n{b:?}\n{}\n{}", f1.log_so_far(), f2.log_so_far())
        };
        let ip = aws.public_ip(&id).await.unwrap();
        assert_eq!(aws.values(&zone, "race.example.com.", "A").await, Some(vec![ip]), "round {round}");
        assert_eq!(aws.records(&zone).await.iter().filter(|r| r.1 == "TXT").count(), 1, "one marker");
        // Both planned the same write on the same read: a CREATE on the empty name first, then
        // an update of the old address, sent as a compare-and-swap. Route53 took one and
        // refused the other, whose process read the name again and found it in sync.
        let action = if round == 0 { "create" } else { "update" };
        let won = [a, b].iter().filter(|r| r["changes"][0]["action"] == action).count();
        assert_eq!(won, 1, "round {round}: one {action} won:\n{a}\n{b}");
        assert_eq!(
            proxy.count(Call::ListRecords) - reads,
            3,
            "round {round}: two reads together, then the loser's second"
        );
        assert!([a, b].iter().any(|r| r["changes"] == json!([]) && r["unchanged"] == 1), "{a}\n{b}");
    }
    let logs = [f1.stop(), f2.stop()];
    let again = logs.iter().map(|l| l.matches("changes rejected; reading those names again").count()).sum::<usize>();
    assert_eq!(again, 4, "the second chance ran once a round, in the process that lost:\n{}\n{}", logs[0], logs[1]);
}

#[tokio::test]
async fn under_cargo_lambda_watch_running_scheduled_and_stopped_events_do_their_work() {
    use support::cargo_lambda::Watch;
    let World { moto, aws, zone, id, records } = world().await;
    let watch = Watch::start();
    let mut env = moto.env();
    env.push(("DDNS_RECORDS".into(), records));
    // cargo lambda watch names the function "_", and sends a deadline that is no Unix time.
    env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), "_".into()));
    let function = Function::start_at(&watch.runtime_api(), &env);
    let answer = |event: &serde_json::Value| {
        let out = watch.invoke(event);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{text}\n{}\n{}", String::from_utf8_lossy(&out.stderr), function.log_so_far());
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };

    let r = answer(&state_change(&id, "running"));
    assert_eq!(r["changes"][0]["action"], "create", "{r}");
    let ip = aws.public_ip(&id).await.unwrap();
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip]));
    let r = answer(&fixture("scheduled-event.json"));
    assert_eq!((r["unchanged"].clone(), r["aws_calls"].clone()), (json!(1), json!(2)), "{r}");
    aws.stop(&id).await;
    let r = answer(&state_change(&id, "stopped"));
    assert_eq!(r["changes"][0]["action"], "delete", "{r}");
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, None);

    let log = function.stop();
    let warnings = log.lines().filter(|l| l.contains("using DDNS_TIMEOUT")).count();
    assert_eq!(warnings, 1, "the deadline is set aside, and that is said once:\n{log}");
}

#[tokio::test]
async fn an_unreadable_webhook_parameter_leaves_dns_working_and_is_counted() {
    use aws_sdk_ssm::types::ParameterType;
    let w = world().await;
    // What the Terraform module writes when a run did not give the URL.
    let stand_in = "not given: set webhook_url when this parameter is created or webhook_version is raised";
    w.aws
        .ssm
        .put_parameter()
        .name("/ddns/url")
        .value(stand_in)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let runtime = RuntimeApi::start();
    let mut env = w.moto.env();
    env.push(("DDNS_RECORDS".into(), w.records.clone()));
    env.push(("DDNS_WEBHOOK_URL_PARAMETER".into(), "/ddns/url".into()));
    let function = Function::start(&runtime, &env);
    let timeout = Duration::from_secs(20);

    let Answered::Response(r) = runtime.invoke(&state_change(&w.id, "running"), timeout) else {
        panic!("{}", function.log_so_far())
    };
    assert_eq!(r["changes"][0]["status"], "applied", "{r}");
    assert!(r.get("webhook").is_none(), "nothing is sent: {r}");
    let ip = w.aws.public_ip(&w.id).await.unwrap();
    assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, Some(vec![ip]));
    let Answered::Response(_) = runtime.invoke(&fixture("scheduled-event.json"), timeout) else { panic!() };
    let Answered::Error(e) = runtime.invoke(&json!({"action": "test-webhook"}), timeout) else { panic!() };
    assert_eq!(e["errorType"], "WebhookFailed");
    let why = e["errorMessage"].as_str().unwrap();
    assert!(
        why.contains("unavailable") && why.contains("DDNS_WEBHOOK_URL_PARAMETER") && why.contains("stand-in"),
        "{why}"
    );

    let log = function.stop();
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let unavailable: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("_aws").is_some()).map(|l| &l["WebhookUnavailable"]).collect();
    assert_eq!(unavailable, [&json!(1), &json!(1), &json!(1)], "in every invocation's metrics line:\n{log}");
    let said = lines
        .iter()
        .filter(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with("the webhook is unavailable")))
        .count();
    assert_eq!(said, 1, "said once:\n{log}");
    assert!(!log.contains("StartupFailures"), "{log}");
}

#[tokio::test]
async fn an_incidents_parameter_that_cannot_be_read_or_written_is_counted_and_dns_work_goes_on() {
    let store = "/ddns/incidents";
    for (denied, label) in [(Call::GetParameter, "unreadable"), (Call::PutParameter, "unwritable")] {
        let World { moto, aws, zone, id, .. } = world().await;
        // A CNAME at a managed name: a problem that opens an incident, which is then to be kept.
        aws.put(&zone, "CREATE", "taken.example.com.", "CNAME", 300, &["elsewhere.example.net."]).await;
        let proxy = FaultProxy::with(moto.port, &[(denied, Fault::JsonError(400, "AccessDeniedException"))]);
        let sink = WebhookSink::start(Reply::Statuses(vec![200]));
        let mut env = moto.env();
        env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
        let records =
            records_var(&[(&id, &zone, "app.example.com", &["A"]), (&id, &zone, "taken.example.com", &["A"])]);
        env.extend(
            [
                ("AWS_ENDPOINT_URL", proxy.endpoint()),
                ("DDNS_RECORDS", records),
                ("DDNS_WEBHOOK_URL", sink.url()),
                ("DDNS_INCIDENTS_PARAMETER", store.into()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        let runtime = RuntimeApi::start();
        let function = Function::start(&runtime, &env);
        let timeout = Duration::from_secs(20);
        for _ in 0..2 {
            let answer = runtime.invoke(&sweep(), timeout);
            let Answered::Response(r) = &answer else { panic!("{label}: {answer:?}\n{}", function.log_so_far()) };
            assert_eq!(r["problems"][0]["kind"], "Conflict", "{label}: {r}");
        }
        let ip = aws.public_ip(&id).await.unwrap();
        assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip]), "{label}: DNS work goes on");
        assert_eq!(sink.received().len(), 1, "{label}: one alert, the incident known from memory after it");
        assert!(proxy.count(denied) >= 1, "{label}");
        let log = function.stop();
        let counted: Vec<Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l.get("_aws").is_some())
            .map(|l| l["IncidentStoreFailures"].clone())
            .collect();
        let stored = aws.ssm.get_parameter().name(store).send().await;
        match denied {
            // The first line counts the failed read at start-up and the failed read again before
            // the alert goes out; the write goes through, and the second invocation sends nothing.
            Call::GetParameter => {
                assert_eq!(counted, [json!(2), json!(0)], "{label}:\n{log}");
                assert!(stored.unwrap().parameter().unwrap().value().unwrap().contains("taken.example.com"));
            }
            // Each invocation tries again to keep what it knows, and counts the failure.
            _ => {
                assert_eq!(counted, [json!(1), json!(1)], "{label}:\n{log}");
                assert!(stored.is_err(), "{label}: nothing was kept");
            }
        }
    }
}

/// Terraform's destroy removes the rules' targets and permissions, then releases; an invocation
/// that was already running can still write after the release's first pass. The settling
/// release waits that out and looks again, so the zone ends with nothing of ours.
#[tokio::test]
async fn a_sweep_running_through_the_release_on_destroy_leaves_no_record_behind() {
    let w = world().await;
    let owner = "released-deployment";
    let vars = [("DDNS_RECORDS", w.records.as_str()), ("DDNS_OWNER_ID", owner)];
    invoke(&app(&w.moto, &vars).await, &sweep()).await.unwrap();
    assert!(w.aws.values(&w.zone, "app.example.com.", "A").await.is_some());

    // The sweep was started before the triggers went; its look at EC2 is slow, so it reads the
    // zone after the release emptied it, and writes the record again.
    let proxy = FaultProxy::start(w.moto.port, Call::DescribeInstances, Duration::from_secs(3));
    let mut env = w.moto.env();
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut slow = env.clone();
    slow.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    slow.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    let (sweeper, releaser) = (RuntimeApi::start(), RuntimeApi::start());
    let (sweeping, releasing) = (Function::start(&sweeper, &slow), Function::start(&releaser, &env));
    let running = std::thread::spawn(move || sweeper.invoke(&sweep(), Duration::from_secs(20)));
    // Bounded by the sweep's own wait for its answer: past it, the sweep never looked at EC2.
    let looking = std::time::Instant::now() + Duration::from_secs(20);
    while proxy.count(Call::DescribeInstances) == 0 {
        assert!(
            std::time::Instant::now() < looking,
            "the sweep sent no DescribeInstances in 20 s:\n{}",
            sweeping.log_so_far()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let destroy = json!({"action": "release", "tf": {"action": "delete", "prev_input": {"action": "release"}}});
    let Answered::Response(released) = releaser.invoke(&destroy, Duration::from_secs(20)) else {
        panic!("{}", releasing.log_so_far())
    };
    let Answered::Response(swept) = running.join().unwrap() else { panic!("{}", sweeping.log_so_far()) };
    assert_eq!(swept["changes"][0]["action"], "create", "the sweep did write after the first pass: {swept}");
    let deleted = released["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "delete").count();
    assert_eq!(deleted, 2, "the record went twice, before and after the sweep wrote it: {released}");
    assert_eq!(w.aws.values(&w.zone, "app.example.com.", "A").await, None);
    assert_eq!(w.aws.values(&w.zone, "_ddns-owner.app.example.com.", "TXT").await, None);
    let log = releasing.stop();
    assert!(log.contains("waiting out invocations still running"), "{log}");
}
