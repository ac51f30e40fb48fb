//! The binary as an operator CLI against moto: plan, apply, invoke and their exit codes.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use support::*;

fn cli(moto: &Moto, vars: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = support::function::command(&moto.env());
    cmd.args(args).envs(vars.iter().copied());
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[tokio::test]
async fn plan_then_apply_then_in_sync() {
    let World { moto, aws, zone, id, records } = world().await;
    let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "operator")];
    let ip = aws.public_ip(&id).await.unwrap();

    let plan = cli(&moto, &vars, &["plan"], None);
    assert_eq!(plan.status.code(), Some(2), "changes pending: {}", stdout(&plan));
    let out = stdout(&plan);
    assert!(
        out.contains("ACTION") && out.contains("create") && out.contains("app.example.com") && out.contains(&ip),
        "{out}"
    );
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, None, "plan writes nothing");

    let apply = cli(&moto, &vars, &["apply"], None);
    assert_eq!(apply.status.code(), Some(0), "{}", stdout(&apply));
    assert!(!String::from_utf8_lossy(&apply.stderr).contains("\x1b["), "no progress lines when piped");
    assert!(stdout(&apply).contains("applied"));
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![ip]));

    let plan = cli(&moto, &vars, &["plan"], None);
    assert_eq!(plan.status.code(), Some(0));
    assert!(stdout(&plan).contains("In sync: 1 record(s)"), "{}", stdout(&plan));
}

#[tokio::test]
async fn invoke_runs_one_event_and_errors_exit_non_zero() {
    let World { moto, id, records, .. } = world().await;
    let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "operator")];

    let event = state_change(&id, "running").to_string();
    let out = cli(&moto, &vars, &["invoke", "-"], Some(&event));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["changes"][0]["action"], "create");

    let out = cli(&moto, &vars, &["invoke", "-"], Some("{}"));
    assert_eq!(out.status.code(), Some(1));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["errorType"], "UnsupportedEvent");

    let out = cli(&moto, &[("DDNS_TTL", "-1")], &["plan"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DDNS_TTL"));

    let help = cli(&moto, &[], &["plan", "--help"], None);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Exit 0 when in sync, 2 when changes are pending"));
}

#[tokio::test]
async fn without_an_owner_id_the_cli_plans_but_never_writes() {
    let World { moto, aws, zone, id, records } = world().await;
    // The default deployment already holds a second name in the zone.
    let deployment =
        [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "dynamic-dns-updater.us-east-1.123456789012")];
    let ip = aws.public_ip(&id).await.unwrap();
    let both = records_var(&[(&id, &zone, "app.example.com", &["A"]), (&id, &zone, "other.example.com", &["A"])]);
    let setup = cli(&moto, &[("DDNS_RECORDS", both.as_str()), deployment[1]], &["apply"], None);
    assert_eq!(setup.status.code(), Some(0), "{}", String::from_utf8_lossy(&setup.stderr));
    let before = aws.records(&zone).await;

    let vars = [("DDNS_RECORDS", records.as_str())];
    let plan = cli(&moto, &vars, &["plan"], None);
    assert_ne!(
        plan.status.code(),
        Some(1),
        "plan works without an owner id: {}",
        String::from_utf8_lossy(&plan.stderr)
    );
    for args in [&["apply"][..], &["release"], &["invoke", "-"]] {
        let out = cli(&moto, &vars, args, Some(&state_change(&id, "stopped").to_string()));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("DDNS_OWNER_ID is not set") && err.contains("terraform output -raw owner_id"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(aws.records(&zone).await, before, "nothing written, the deployment's other name kept");
    assert_eq!(aws.values(&zone, "other.example.com.", "A").await, Some(vec![ip]));
    let dry = cli(&moto, &vars, &["release", "--dry-run"], None);
    assert_eq!(dry.status.code(), Some(0), "a dry run writes nothing: {}", String::from_utf8_lossy(&dry.stderr));
    let help = cli(&moto, &[], &["--help"], None);
    assert!(stdout(&help).contains("need DDNS_OWNER_ID"), "{}", stdout(&help));
}
