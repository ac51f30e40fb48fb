//! The same binary outside Lambda: plan, apply, invoke and test-webhook, through the same handler.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::handler::{self, App, Error};

/// How long a CLI run may take, standing in for Lambda's deadline.
const CLI_DEADLINE: Duration = Duration::from_secs(300);

#[derive(Debug, Parser)]
#[command(
    name = "dynamic-dns-updater",
    version,
    about = "Keep Route53 records pointed at EC2 instances' public IPs.",
    long_about = "Keep Route53 records pointed at EC2 instances' public IPs.\n\n\
In Lambda (AWS_LAMBDA_RUNTIME_API set) it serves events. Anywhere else it is this CLI, reading the same \
DDNS_* configuration from the environment and AWS credentials the usual way."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the changes a reconcile would make. Exit 0 when in sync, 2 when changes are pending, 1 on error.
    Plan,
    /// Make the changes. Exit 0 on success, 1 on error.
    Apply,
    /// Run one event (a JSON file, or - for stdin) through the handler and print the result.
    Invoke { event: PathBuf },
    /// Send a test alert through the configured webhook.
    TestWebhook,
}

pub async fn run(app: &App, command: Command) -> ExitCode {
    let deadline = SystemTime::now() + CLI_DEADLINE;
    match command {
        Command::Plan | Command::Apply => {
            let dry_run = matches!(command, Command::Plan);
            let result =
                handler::handle(app, &json!({"action": "reconcile", "dry_run": dry_run}), deadline, None).await;
            match result {
                Ok(report) => {
                    print_table(&report);
                    let pending = report["changes"].as_array().is_some_and(|c| !c.is_empty());
                    if dry_run && pending { ExitCode::from(2) } else { ExitCode::SUCCESS }
                }
                Err(e) => {
                    if let Error::Failed { report, .. } = &e {
                        print_table(&serde_json::to_value(report).unwrap_or_default());
                    }
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Invoke { event } => {
            let text = if event.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&event)
            };
            let payload: Value =
                match text.map_err(|e| e.to_string()).and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
                {
                    Ok(v) => v,
                    Err(e) => {
                        eprintln!("error: cannot read {}: {e}", event.display());
                        return ExitCode::FAILURE;
                    }
                };
            print_result(handler::handle(app, &payload, deadline, None).await)
        }
        Command::TestWebhook => {
            print_result(handler::handle(app, &json!({"action": "test-webhook"}), deadline, None).await)
        }
    }
}

fn print_result(result: Result<Value, Error>) -> ExitCode {
    match result {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let d: lambda_runtime::Diagnostic = e.into();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"errorType": d.error_type, "errorMessage": d.error_message}))
                    .unwrap_or_default()
            );
            ExitCode::FAILURE
        }
    }
}

fn print_table(report: &Value) {
    let changes = report["changes"].as_array().cloned().unwrap_or_default();
    let unchanged = report["unchanged"].as_u64().unwrap_or(0);
    if changes.is_empty() {
        println!("In sync: {unchanged} record(s), no changes.");
    } else {
        let cell = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| "-".into());
        let rows: Vec<[String; 6]> = changes
            .iter()
            .map(|c| {
                [
                    cell(&c["action"]),
                    cell(&c["name"]),
                    cell(&c["type"]),
                    cell(&c["old"]),
                    cell(&c["new"]),
                    cell(&c["status"]),
                ]
            })
            .collect();
        let header = ["ACTION", "NAME", "TYPE", "OLD", "NEW", "STATUS"].map(String::from);
        let widths: Vec<usize> =
            (0..6).map(|i| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
        for row in std::iter::once(&header).chain(&rows) {
            let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            println!("{}", line.join("  ").trim_end());
        }
        println!("{} change(s), {unchanged} in sync.", changes.len());
    }
    if let Some(note) = report["note"].as_str() {
        println!("Note: {note}");
    }
}
