//! The function's App against moto, built the way main.rs builds it, the starting world most
//! tests share, and the events they send.

use std::time::{Duration, SystemTime};

use dynamic_dns_updater::app::{App, Environment};
use dynamic_dns_updater::clients::Clients;
use dynamic_dns_updater::config::Config;
use dynamic_dns_updater::handler::{self, Invocation};
use dynamic_dns_updater::progress::Silent;
use dynamic_dns_updater::report::Answer;
use serde_json::Value;

use super::moto::{Aws, Moto, repo_root, sdk_at, sdk_in};

/// moto with a zone (example.com), a running instance, and DDNS_RECORDS mapping
/// app.example.com to that instance: the set-up most tests start from.
pub struct World {
    pub moto: Moto,
    pub aws: Aws,
    pub zone: String,
    pub id: String,
    pub records: String,
}

pub async fn world() -> World {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let id = aws.run_instance().await;
    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    World { moto, aws, zone, id, records }
}

/// The config that DDNS_* variables give.
pub fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|k| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string()))
        .expect("valid test config")
}

/// The function's App against moto from DDNS_* variables.
pub async fn app(moto: &Moto, vars: &[(&str, &str)]) -> App {
    app_at(&moto.endpoint(), vars).await
}

/// The function's App against any AWS endpoint (moto, or a proxy in front of it).
pub async fn app_at(endpoint: &str, vars: &[(&str, &str)]) -> App {
    let sdk = sdk_at(endpoint).await;
    app_with(Clients::from_sdk(&sdk).reaching(&sdk, &config(vars)).await, vars).await
}

/// The function's App on the given clients (mocked ones, say), as the test function "ddns-test".
pub async fn app_with(clients: Clients, vars: &[(&str, &str)]) -> App {
    build(clients, "us-east-1", vars).await.expect("the App builds")
}

/// The function "ddns-test" deployed in `region`, against moto.
pub async fn app_in(moto: &Moto, region: &str, vars: &[(&str, &str)]) -> App {
    build(Clients::from_sdk(&sdk_in(&moto.endpoint(), region).await), region, vars).await.expect("the App builds")
}

/// Builds the App as main.rs does; the error is the start-up error it would print.
pub async fn build(clients: Clients, region: &str, vars: &[(&str, &str)]) -> Result<App, String> {
    let env = Environment {
        function: Some("ddns-test".into()),
        region: Some(region.into()),
        emit_metrics: false,
        progress: Box::new(Silent),
    };
    App::build(config(vars), clients, env).await
}

/// Runs one event through the handler with a generous deadline; the answer as its JSON.
pub async fn invoke(app: &App, event: &Value) -> Result<Value, handler::Error> {
    answer(app, event).await.map(|a| serde_json::to_value(a).unwrap())
}

/// Runs one event through the handler with a generous deadline.
pub async fn answer(app: &App, event: &Value) -> Result<Answer, handler::Error> {
    let invocation = Invocation { deadline: SystemTime::now() + Duration::from_secs(60), account: None };
    handler::handle(app, event, invocation).await
}

pub fn fixture(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A state-change event for `instance` in `state`, shaped like the fixture.
/// The one-minute schedule's event: a sweep.
pub fn sweep() -> Value {
    fixture("scheduled-event.json")
}

pub fn state_change(instance: &str, state: &str) -> Value {
    let mut e = fixture("ec2-state-change-running.json");
    e["detail"]["instance-id"] = instance.into();
    e["detail"]["state"] = state.into();
    e
}

pub fn records_var(entries: &[(&str, &str, &str, &[&str])]) -> String {
    let list: Vec<Value> = entries
        .iter()
        .map(|(instance, zone, name, types)| serde_json::json!({"instance_id": instance, "zone_id": zone, "name": name, "types": types}))
        .collect();
    Value::Array(list).to_string()
}
