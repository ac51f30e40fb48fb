//! The binary as an operator CLI against moto: plan, apply, list, release, invoke, their flags,
//! answers and exit codes, and what start-up says when it cannot go on.

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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs the binary with exactly `env` (no moto defaults), for what start-up makes of a bare one.
fn bare(env: &[(&str, &str)], args: &[&str]) -> Output {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    support::function::command(&env).args(args).stdin(Stdio::null()).output().unwrap()
}

#[tokio::test]
async fn an_answer_with_a_problem_or_an_unknown_instance_never_reads_in_sync() {
    let World { moto, zone, id, .. } = world().await;
    let unknown = "i-0123456789abcdef0";
    let typo = records_var(&[(unknown, &zone, "typo.example.com", &["A"])]);
    let plan = cli(&moto, &[("DDNS_RECORDS", typo.as_str()), ("DDNS_OWNER_ID", "operator")], &["plan"], None);
    let (out, err) = (stdout(&plan), stderr(&plan));
    assert!(!out.contains("In sync") && out.contains("Not in sync: 1 problem(s)"), "{out}");
    assert!(err.contains(unknown) && err.contains("does not know"), "the problem names the instance: {err}");
    assert_eq!(plan.status.code(), Some(1), "a problem needs a person: {err}");

    let missing = records_var(&[(&id, "ZNOSUCHZONE", "app.example.com", &["A"])]);
    let plan = cli(&moto, &[("DDNS_RECORDS", missing.as_str()), ("DDNS_OWNER_ID", "operator")], &["plan"], None);
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    let out = stdout(&plan);
    assert!(!out.contains("In sync") && out.contains("Not in sync: 1 problem(s)"), "{out}");
    assert!(
        stderr(&plan).contains("1 problem(s) during") && !stderr(&plan).contains("0 error(s)"),
        "{}",
        stderr(&plan)
    );
    for line in stderr(&plan).lines() {
        assert!(line.len() < 400, "an error line short enough to read, not the SDK's debug form: {line}");
    }

    let records = records_var(&[(&id, &zone, "app.example.com", &["A"])]);
    let release = cli(&moto, &[("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "operator")], &["release"], None);
    assert_eq!(release.status.code(), Some(0), "{}", stderr(&release));
    assert!(stdout(&release).starts_with("Nothing to release"), "{}", stdout(&release));
}

#[tokio::test]
async fn flags_json_output_and_the_list_of_what_this_owner_holds() {
    let World { moto, aws, id, records, .. } = world().await;
    let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "operator")];
    let ip = aws.public_ip(&id).await.unwrap();
    let other = aws.run_instance().await;

    let plan = cli(&moto, &vars, &["plan", "--output", "json"], None);
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    let answer: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!((answer["changes"][0]["action"].as_str(), answer["dry_run"].as_bool()), (Some("create"), Some(true)));
    assert!(stderr(&plan).contains("Owner id: operator"), "{}", stderr(&plan));

    // Another instance's ids cover nothing of this mapping.
    let none = cli(&moto, &vars, &["apply", "--instance-ids", &other, "--force"], None);
    assert_eq!(none.status.code(), Some(0), "{}", stderr(&none));
    assert_eq!(aws.values(&records_zone(&records), "app.example.com.", "A").await, None, "{}", stdout(&none));

    let apply = cli(&moto, &vars, &["apply", "--instance-ids", &id, "--output", "json"], None);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    let answer: serde_json::Value = serde_json::from_slice(&apply.stdout).unwrap();
    assert_eq!(answer["changes"][0]["status"], "applied");

    let list = cli(&moto, &vars, &["list"], None);
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    let row = stdout(&list).lines().find(|l| l.starts_with("app.example.com")).map(str::to_string);
    let row = row.unwrap_or_else(|| panic!("no row for the name: {}", stdout(&list)));
    for cell in ["A", ip.as_str(), id.as_str(), "operator"] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    let status = cli(&moto, &vars, &["status", "--output", "json"], None);
    let held: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(held["records"].as_array().map(Vec::len), Some(1), "{held}");
    assert_eq!(
        (held["records"][0]["instance"].as_str(), held["owner"].as_str()),
        (Some(id.as_str()), Some("operator"))
    );
    let theirs = cli(&moto, &[vars[0], ("DDNS_OWNER_ID", "someone-else")], &["list"], None);
    assert!(stdout(&theirs).starts_with("This owner holds no records"), "{}", stdout(&theirs));
}

fn records_zone(records: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(records).unwrap();
    v[0]["zone_id"].as_str().unwrap().to_string()
}

#[test]
fn usage_errors_have_their_own_exit_code_and_completions_need_no_aws() {
    for args in [&["plan", "--bogus"][..], &["apply", "--instance-ids", "web-1"], &["frobnicate"], &[]] {
        let out = bare(&[], args);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {}", stderr(&out));
    }
    let out = bare(&[], &["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("dynamic-dns-updater") && stdout(&out).contains("--instance-ids"),
        "{}",
        stdout(&out)
    );
    let help = bare(&[], &["--help"]);
    let text = stdout(&help);
    assert_eq!(help.status.code(), Some(0));
    assert!(text.contains("addresses (public or private)") && !text.contains("public IPs"), "{text}");
    assert!(text.contains("64 a command line that could not be used"), "{text}");
}

#[tokio::test]
async fn start_up_says_what_is_wrong_in_a_line_and_how_to_fix_it() {
    let World { moto, zone, id, records, .. } = world().await;
    let endpoint = moto.endpoint();
    let base =
        [("AWS_ENDPOINT_URL", endpoint.as_str()), ("AWS_REGION", "us-east-1"), ("AWS_EC2_METADATA_DISABLED", "true")];
    let keys = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];
    let owned = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "operator")];

    // No credentials: the cause is said, and the kind does not ask for a retry.
    let out = bare(&[&base[..], &owned].concat(), &["plan", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = &answer["problems"][0];
    assert_eq!(problem["kind"], "Ec2Denied", "{answer}");
    assert!(problem["message"].as_str().unwrap().contains("credentials"), "{answer}");
    assert!(answer["errors"].as_array().unwrap().is_empty(), "{answer}");

    // Without an owner id, a refused connection is not blamed on credentials.
    let refused = [("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), base[1], base[2]];
    let out = bare(&[&refused[..], &keys, &[owned[0]]].concat(), &["plan"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Connection refused") && !err.contains("Set AWS credentials"), "{err}");
    let out = bare(&[&base[..], &[owned[0]]].concat(), &["plan"]);
    assert!(stderr(&out).contains("credential"), "{}", stderr(&out));

    // No region: the fix is named.
    let out = bare(&[&[base[0], base[2]][..], &keys, &owned].concat(), &["plan"]);
    assert!(stderr(&out).contains("set AWS_REGION"), "{}", stderr(&out));

    // A name outside its zone is refused before anything runs, naming the mapping and the zone.
    let outside = records_var(&[(&id, &zone, "app.example.org", &["A"])]);
    let out = cli(&moto, &[("DDNS_RECORDS", outside.as_str()), owned[1]], &["plan"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("app.example.org") && err.contains(&zone) && err.contains("example.com)"), "{err}");

    // A misspelt setting and an empty one are warned about.
    let out = cli(&moto, &[owned[0], owned[1], ("DDNS_TLL", "300"), ("DDNS_ON_STOP", "")], &["plan"], None);
    let err = stderr(&out);
    assert!(err.contains("DDNS_TLL: no setting of this name") && err.contains("DDNS_ON_STOP: set but empty"), "{err}");
}
