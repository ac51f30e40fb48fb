//! Incidents, not storms: a problem alerts once, reminds after DDNS_ALERT_REPEAT, says when it
//! cleared, stays known across cold starts and execution environments through its SSM parameter
//! (moto in server mode), and an error that comes and goes alerts once.

mod support;

use std::time::{Duration, SystemTime};

use aws_sdk_ssm::types::ParameterType;
use dynamic_dns_updater::handler::{self, Invocation};
use dynamic_dns_updater::incidents;
use serde_json::{Value, json};
use support::proxy::{Call, FaultProxy};
use support::*;

const STORE: &str = "/dynamic-dns-updater/ddns-test/incidents";

/// moto with example.com, a record in it that someone else made, an instance tagged with that
/// name, and a webhook receiver.
struct Taken {
    moto: Moto,
    aws: Aws,
    zone: String,
    id: String,
    sink: WebhookSink,
}

async fn taken() -> Taken {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    aws.put(&zone, "CREATE", "taken.example.com.", "A", 300, &["192.0.2.7"]).await;
    let id = aws.run_instance().await;
    aws.tag(&id, "taken.example.com").await;
    Taken { moto, aws, zone, id, sink: WebhookSink::start(Reply::Statuses(vec![200])) }
}

impl Taken {
    fn vars(&self) -> Vec<(String, String)> {
        [
            ("DDNS_TAG_KEY", TAG_KEY.to_string()),
            ("DDNS_ZONES", self.zone.clone()),
            ("DDNS_OWNER_ID", "incidents-test".into()),
            ("DDNS_WEBHOOK_URL", self.sink.url()),
            ("DDNS_INCIDENTS_PARAMETER", STORE.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    async fn app(&self, extra: &[(&str, &str)]) -> dynamic_dns_updater::app::App {
        let vars = self.vars();
        let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        vars.extend_from_slice(extra);
        app(&self.moto, &vars).await
    }

    fn events(&self) -> Vec<String> {
        self.sink.received().iter().map(|r| r.json()["event"].as_str().unwrap().to_string()).collect()
    }
}

#[tokio::test]
async fn a_persistent_foreign_record_alerts_once_and_says_once_when_it_clears() {
    let t = taken().await;
    // Its recovery is said once it has stayed clear for DDNS_ALERT_AFTER: here, at once.
    let app = t.app(&[("DDNS_ALERT_AFTER", "0")]).await;
    for _ in 0..5 {
        let r = invoke(&app, &sweep()).await.expect("a problem a retry cannot fix never fails a sweep");
        assert_eq!(r["problems"][0]["kind"], "Conflict", "{r}");
    }
    assert_eq!(t.events(), ["dns.failed"], "one alert for five sweeps");
    let alert = t.sink.received()[0].json();
    let message = alert["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Delete that A record, or list taken.example.com in DDNS_RECORDS"), "{message}");
    // The claim goes away (the tag is removed): the next sweep says so, once.
    t.aws.untag(&t.id).await;
    for _ in 0..2 {
        invoke(&app, &sweep()).await.unwrap();
    }
    assert_eq!(t.events(), ["dns.failed", "dns.recovered"]);
    let recovered = t.sink.received()[1].json();
    assert_eq!(recovered["recovered"][0], format!("Conflict: taken.example.com A ({})", t.id));
    assert_eq!(t.aws.values(&t.zone, "taken.example.com.", "A").await, Some(vec!["192.0.2.7".to_string()]));
}

#[tokio::test]
async fn a_reminder_goes_out_after_the_repeat_interval_and_not_before() {
    let t = taken().await;
    let app = t.app(&[("DDNS_ALERT_REPEAT", "1h")]).await;
    invoke(&app, &sweep()).await.unwrap();
    invoke(&app, &sweep()).await.unwrap();
    assert_eq!(t.events(), ["dns.failed"]);
    // An hour passes, as the store tells it: its last alert is moved an hour and a second back,
    // and a new execution environment reads the store at its cold start.
    let stored = t.aws.ssm.get_parameter().name(STORE).send().await.unwrap();
    let mut kept: serde_json::Value = serde_json::from_str(stored.parameter().unwrap().value().unwrap()).unwrap();
    for entry in kept["open"].as_array_mut().unwrap() {
        entry[3] = serde_json::json!(entry[3].as_u64().unwrap() - 3_601);
    }
    let earlier = kept.to_string();
    t.aws.ssm.put_parameter().name(STORE).value(earlier).overwrite(true).send().await.unwrap();
    let app = t.app(&[("DDNS_ALERT_REPEAT", "1h")]).await;
    invoke(&app, &sweep()).await.unwrap();
    invoke(&app, &sweep()).await.unwrap();
    assert_eq!(t.events(), ["dns.failed", "dns.failed"]);
    let reminder = t.sink.received()[1].json();
    assert_eq!(reminder["errors"], serde_json::json!([]), "nothing new");
    assert_eq!(reminder["reminders"][0]["kind"], "Conflict");
}

#[tokio::test]
async fn a_new_execution_environment_does_not_alert_again() {
    let t = taken().await;
    let runtime = RuntimeApi::start();
    let mut env = t.moto.env();
    env.extend(t.vars());
    let timeout = Duration::from_secs(20);
    let first = Function::start(&runtime, &env);
    let Answered::Response(r) = runtime.invoke(&sweep(), timeout) else { panic!("{}", first.log_so_far()) };
    assert_eq!(r["problems"][0]["kind"], "Conflict");
    drop(first.stop());
    let stored = t.aws.ssm.get_parameter().name(STORE).send().await.unwrap();
    assert!(stored.parameter().unwrap().value().unwrap().contains("taken.example.com"), "kept across cold starts");
    // A cold start, in a new execution environment with a Runtime API of its own (the old one
    // may still hold the stopped process's last poll): the incident is open, and alerted.
    let runtime = RuntimeApi::start();
    let second = Function::start(&runtime, &env);
    let Answered::Response(_) = runtime.invoke(&sweep(), timeout) else { panic!("{}", second.log_so_far()) };
    let log = second.stop();
    assert_eq!(t.events(), ["dns.failed"], "no second alert after the cold start\n{log}");
    let finished: Vec<Value> =
        log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|l| l.get("_aws").is_some()).collect();
    assert_eq!(finished[0]["IncidentsOpen"], 1, "{log}");
}

#[tokio::test]
async fn an_unreadable_incident_store_is_replaced_without_a_storm() {
    let t = taken().await;
    t.aws.ssm.put_parameter().name(STORE).value("{\"v\": 99}").r#type(ParameterType::String).send().await.unwrap();
    let app = t.app(&[]).await;
    for _ in 0..3 {
        invoke(&app, &sweep()).await.unwrap();
    }
    assert_eq!(t.events(), ["dns.failed"]);
    let stored = t.aws.ssm.get_parameter().name(STORE).send().await.unwrap();
    let text: Value = serde_json::from_str(stored.parameter().unwrap().value().unwrap()).unwrap();
    assert_eq!(text["v"], incidents::VERSION, "rewritten in this version's form: {text}");
    assert!(text["open"][0][5].as_str().unwrap().starts_with("Conflict: taken.example.com A"), "{text}");
}

#[tokio::test]
async fn a_tagged_name_in_another_deployments_zone_is_not_this_ones_problem() {
    let t = taken().await;
    let other = t.aws.zone("example.org").await;
    let id = t.aws.run_instance().await;
    t.aws.tag(&id, "theirs.example.org").await;
    t.aws.untag(&t.id).await;
    let app = t.app(&[]).await;
    for _ in 0..3 {
        let r = invoke(&app, &sweep()).await.unwrap();
        assert_eq!((r["problems"].clone(), r["errors"].clone()), (serde_json::json!([]), serde_json::json!([])), "{r}");
    }
    assert!(t.events().is_empty(), "no alert: {:?}", t.events());
    assert!(t.aws.records(&other).await.iter().all(|r| r.1 != "A"), "nothing written there");
    // And nothing is stored for it either: a warm sweep that wants and knows no name of this
    // deployment's makes its one DescribeInstances call.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["aws_calls"], 1, "{r}");
    assert!(t.aws.ssm.get_parameter().name(STORE).send().await.is_err(), "no incident, no parameter");
}

#[tokio::test]
async fn two_processes_with_one_store_alert_a_problem_once() {
    let t = taken().await;
    let mut env = t.moto.env();
    env.extend(t.vars());
    env.push(("DDNS_ALERT_AFTER".into(), "0".into()));
    let (rt1, rt2) = (RuntimeApi::start(), RuntimeApi::start());
    let (f1, f2) = (Function::start(&rt1, &env), Function::start(&rt2, &env));
    let timeout = Duration::from_secs(20);
    // Both have started (and read the empty store) once each has answered something.
    for rt in [&rt1, &rt2] {
        assert!(matches!(rt.invoke(&json!({}), timeout), Answered::Error(_)));
    }
    let sweep_in = |rt: &RuntimeApi, f: &Function| {
        let Answered::Response(r) = rt.invoke(&sweep(), timeout) else { panic!("{}", f.log_so_far()) };
        r
    };
    assert_eq!(sweep_in(&rt1, &f1)["problems"][0]["kind"], "Conflict");
    let r = sweep_in(&rt2, &f2);
    assert_eq!(r["problems"][0]["kind"], "Conflict", "{r}");
    assert!(r.get("webhook").is_none(), "the other process sent it already: {r}");
    assert_eq!(t.events(), ["dns.failed"], "one alert from two processes");
    // It clears: the second process says so, and the first, reading that, does not again.
    t.aws.untag(&t.id).await;
    sweep_in(&rt2, &f2);
    let r = sweep_in(&rt1, &f1);
    assert!(r.get("webhook").is_none(), "{r}");
    assert_eq!(t.events(), ["dns.failed", "dns.recovered"]);
    for f in [f1, f2] {
        let log = f.stop();
        let open: Vec<Value> = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l.get("_aws").is_some())
            .map(|l| l["IncidentsOpen"].clone())
            .collect();
        assert_eq!(open, [json!(0), json!(1), json!(0)], "{log}");
    }
}

#[tokio::test]
async fn throttling_on_alternate_sweeps_sends_one_failure_and_one_recovery() {
    let w = world().await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let proxy = FaultProxy::throttling(w.moto.port, Call::ListRecords);
    let runtime = RuntimeApi::start();
    let mut env = w.moto.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL".into(), proxy.endpoint()));
    env.push(("DDNS_RECORDS".into(), w.records.clone()));
    env.push(("DDNS_WEBHOOK_URL".into(), sink.url()));
    // The hardest case: alert at once, and any return within the hour reopens quietly.
    env.push(("DDNS_ALERT_AFTER".into(), "0".into()));
    env.push(("DDNS_ALERT_REPEAT".into(), "1h".into()));
    let function = Function::start(&runtime, &env);
    let timeout = Duration::from_secs(30);
    for n in 0..7 {
        // The first sweep creates the record; then every other one is throttled.
        let throttled = n % 2 == 1;
        proxy.throttle(throttled);
        let Answered::Response(r) = runtime.invoke(&sweep(), timeout) else { panic!("{}", function.log_so_far()) };
        let kinds: Vec<&Value> = r["errors"].as_array().unwrap().iter().map(|e| &e["kind"]).collect();
        assert_eq!(kinds.len(), usize::from(throttled), "sweep {n}: {r}");
        if throttled {
            assert_eq!(kinds[0], "Route53Throttled", "sweep {n}: {r}");
        }
    }
    let log = function.stop();
    let events: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .filter(|e| e != "dns.changed")
        .collect();
    assert_eq!(events, ["dns.failed", "dns.recovered"], "three failures, one alert each way\n{log}");
    assert!(proxy.count(Call::ListRecords) >= 3 * 4, "every attempt of each throttled sweep was throttled");
}

#[tokio::test]
async fn a_store_write_slower_than_the_budget_cannot_push_the_answer_past_the_deadline() {
    let t = taken().await;
    let proxy = FaultProxy::start(t.moto.port, Call::PutParameter, Duration::from_secs(60));
    let vars = t.vars();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = app_at(&proxy.endpoint(), &vars).await;
    let deadline = SystemTime::now() + Duration::from_secs(4);
    let answer = handler::handle(&app, &sweep(), Invocation { deadline, account: None }).await.unwrap();
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    assert_eq!(answer.problems[0].kind.error_type(), "Conflict");
    assert!(answer.webhook.as_ref().is_some_and(|d| d.ok()), "{:?}", answer.webhook);
    assert_eq!(t.events(), ["dns.failed"]);
    assert_eq!((answer.gauges.store_failures, answer.gauges.incidents_open), (1, 1), "the write counts as failed");
    assert_eq!(proxy.count(Call::PutParameter), 1);
    assert_eq!(proxy.count(Call::GetParameter), 2, "read at start-up, and again before sending");
    // Memory still knows it was sent: the next sweep is quiet, and tries the write again.
    let deadline = SystemTime::now() + Duration::from_secs(4);
    let answer = handler::handle(&app, &sweep(), Invocation { deadline, account: None }).await.unwrap();
    assert!(SystemTime::now() < deadline, "answered after the deadline");
    assert_eq!(t.events(), ["dns.failed"], "not sent again");
    assert_eq!(answer.gauges.store_failures, 1);
    assert_eq!(proxy.count(Call::PutParameter), 2);
}
