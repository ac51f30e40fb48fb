//! A newcomer's bad settings, through the real binary with no AWS reached: each says exactly
//! what is wrong and how to mend it, exits 1, and nothing starts (no AWS endpoint is touched).

mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::Output;

const RECORD: &str = r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com"}]"#;

/// Runs `args` with `vars` and an AWS endpoint that counts connections; returns the output and
/// whether anything connected to it.
fn run(vars: &[(&str, &str)], args: &[&str]) -> (Output, bool) {
    let endpoint = TcpListener::bind("127.0.0.1:0").unwrap();
    endpoint.set_nonblocking(true).unwrap();
    let base = [
        ("AWS_ENDPOINT_URL", format!("http://{}", endpoint.local_addr().unwrap())),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ];
    let env: Vec<(String, String)> = base.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let out = support::function::command(&env).envs(vars.iter().copied()).args(args).output().unwrap();
    let touched = !matches!(endpoint.accept(), Err(ref e) if e.kind() == ErrorKind::WouldBlock);
    (out, touched)
}

#[test]
fn bad_settings_say_what_is_wrong_and_the_fix_and_nothing_starts() {
    let record = RECORD;
    // (what, the settings, the one error line)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "a timeout that is no duration suggests values in its range",
            vec![("DDNS_RECORDS", record), ("DDNS_TIMEOUT", "abc")],
            r#"DDNS_TIMEOUT: "abc" is not a duration (like 30s or 2m; 1 s to 15 minutes)"#,
        ),
        (
            "an unsupported tag type says so once",
            vec![("DDNS_TAG_KEY", "ddns:name"), ("DDNS_ZONES", "Z1"), ("DDNS_TAG_TYPES", "CNAME")],
            r#"DDNS_TAG_TYPES: "CNAME" is not a supported record type (A or AAAA)"#,
        ),
        (
            "single quotes are named",
            vec![("DDNS_RECORDS", "[{'instance_id':'i-12345678'}]")],
            r#"DDNS_RECORDS: not a JSON array of objects like {"instance_id": "i-…" (or "instance_ids": ["i-…", …]), "zone_id": "Z…", "name": "app.example.com", "ttl"?, "types"?, "address"?, "account_id"?, "region"?} (key must be a string at line 1 column 3); JSON takes double quotes, not single ones"#,
        ),
        (
            "a missing field names its record",
            vec![("DDNS_RECORDS", r#"[{"instance_id":"i-12345678","name":"a.example.com"}]"#)],
            r#"DDNS_RECORDS[0]: missing field `zone_id`; a record is like {"instance_id": "i-…" (or "instance_ids": ["i-…", …]), "zone_id": "Z…", "name": "app.example.com", "ttl"?, "types"?, "address"?, "account_id"?, "region"?}"#,
        ),
        (
            "a record claimed twice gives the way out",
            vec![(
                "DDNS_RECORDS",
                r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com"},{"instance_id":"i-87654321","zone_id":"Z1","name":"a.example.com"}]"#,
            )],
            "DDNS_RECORDS: a.example.com A in zone Z1 is claimed by both i-12345678 and i-87654321; a record follows one instance or one group, so remove one of the entries (or give each a name of its own)",
        ),
        (
            "the shorthand beside DDNS_RECORDS",
            vec![("DDNS_RECORDS", record), ("INSTANCE_ID", "i-12345678")],
            "INSTANCE_ID: set beside DDNS_RECORDS, which would win and leave the shorthand (INSTANCE_ID, HOSTED_ZONE_ID, RECORD_NAME) unused; move that record into DDNS_RECORDS and unset the shorthand",
        ),
        (
            "an empty name between commas",
            vec![
                ("INSTANCE_ID", "i-12345678"),
                ("HOSTED_ZONE_ID", "Z1"),
                ("RECORD_NAME", "a.example.com,,b.example.com"),
            ],
            r#"RECORD_NAME: "a.example.com,,b.example.com" has an empty item between commas"#,
        ),
        (
            "two webhook URLs that differ",
            vec![
                ("DDNS_RECORDS", record),
                ("WEBHOOK_URL", "https://a.example.com/x"),
                ("DDNS_WEBHOOK_URL", "https://b.example.com/y"),
            ],
            "WEBHOOK_URL: set to another URL than DDNS_WEBHOOK_URL, which would win; unset WEBHOOK_URL (the seed's name)",
        ),
        (
            "a short signing secret",
            vec![
                ("DDNS_RECORDS", record),
                ("DDNS_WEBHOOK_URL", "https://a.example.com/x"),
                ("DDNS_WEBHOOK_SECRET", "short"),
            ],
            "DDNS_WEBHOOK_SECRET: 5 characters; a signing secret needs at least 16 (openssl rand -hex 32 makes a good one)",
        ),
    ];
    for (label, vars, message) in cases {
        let (out, touched) = run(&vars, &["plan"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr, format!("dynamic-dns-updater: invalid configuration:\n  {message}\n"), "{label}");
        assert_eq!(out.status.code(), Some(1), "{label}");
        assert!(out.stdout.is_empty() && !touched, "{label}: nothing started");
    }
}

#[test]
fn no_credentials_say_so_on_one_line_with_the_fix() {
    let (out, _) =
        run(&[("DDNS_RECORDS", RECORD), ("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")], &["plan"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("dynamic-dns-updater: cannot start: DDNS_OWNER_ID: not set, and the AWS account"),
        "{stderr}"
    );
    assert!(
        stderr.trim_end().ends_with(
            "Set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or set DDNS_OWNER_ID"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("credential provider"), "the cause is said: {stderr}");
    assert!(stderr.len() < 400, "{} characters: {stderr}", stderr.len());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_bad_rust_log_is_said_and_plan_never_claims_sync_when_a_read_failed() {
    let (out, touched) =
        run(&[("DDNS_RECORDS", RECORD), ("DDNS_OWNER_ID", "o"), ("RUST_LOG", "nonsense===")], &["plan"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(touched, "it did try AWS: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stdout.contains("In sync"), "{stdout}");
    assert_eq!(stdout, "Could not tell whether the records are in sync: 1 error(s) stopped the run.\n");
    assert!(
        stderr.starts_with(r#"dynamic-dns-updater: RUST_LOG: "nonsense===" is not a level (error, warn, info, debug, trace) or a list of target=level"#),
        "{stderr}"
    );
}

#[test]
fn help_names_the_main_settings() {
    let (out, _) = run(&[], &["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DDNS_RECORDS",
        "DDNS_TAG_KEY",
        "DDNS_ZONES",
        "DDNS_OWNER_ID",
        "DDNS_ON_STOP",
        "DDNS_WEBHOOK_URL",
        "Configuration table",
    ] {
        assert!(help.contains(var), "{var}: {help}");
    }
}
