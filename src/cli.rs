//! The same binary outside Lambda: plan, apply, invoke and test-webhook, through the same handler.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::app::App;
use crate::handler::{self, Error, Invocation};
use crate::report::Answer;

/// How long a CLI run may take, standing in for Lambda's deadline.
const CLI_DEADLINE: Duration = Duration::from_secs(300);

#[derive(Debug, Parser)]
#[command(
    name = "dynamic-dns-updater",
    version,
    about = "Keep Route53 records pointed at EC2 instances' public IPs.",
    long_about = "Keep Route53 records pointed at EC2 instances' public IPs.\n\n\
In Lambda (AWS_LAMBDA_RUNTIME_API set) it serves events. Anywhere else it is this CLI, reading the same \
DDNS_* configuration from the environment and AWS credentials the usual way.\n\n\
apply, release and invoke write DNS as an owner, so outside Lambda they need DDNS_OWNER_ID: the \
deployment's (the Terraform output owner_id) to act for it, or one of your own for records this CLI \
owns. plan shows what would change without it.\n\n\
The main settings: DDNS_RECORDS (a JSON list of {instance_id, zone_id, name}) or DDNS_TAG_KEY with \
DDNS_ZONES (fleet mode), DDNS_OWNER_ID, DDNS_ON_STOP (delete or keep), DDNS_TTL and DDNS_WEBHOOK_URL. \
Every variable is in the README's Configuration table."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the changes a reconcile would make. Exit 0 when in sync, 2 when changes are pending, 1 when
    /// something went wrong or needs a person (a record someone else owns, say).
    Plan,
    /// Make the changes. Exit 0 on success, 1 when something went wrong or needs a person.
    Apply,
    /// Delete every record and ownership marker this owner holds in the configured zones, as before
    /// the deployment is removed. Exit 0 when all are gone, 1 otherwise.
    Release {
        /// List what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run one event (a JSON file, or - for stdin) through the handler and print the result.
    Invoke { event: PathBuf },
    /// Send a test alert through the configured webhook.
    TestWebhook,
}

pub async fn run(app: &App, command: Command) -> ExitCode {
    let invocation = Invocation { deadline: SystemTime::now() + CLI_DEADLINE, account: None };
    if let Some(refusal) = needs_owner(app, &command) {
        eprintln!("error: {refusal}");
        return ExitCode::FAILURE;
    }
    match command {
        Command::Plan | Command::Apply => {
            let dry_run = matches!(command, Command::Plan);
            let result = handler::handle(app, &json!({"action": "reconcile", "dry_run": dry_run}), invocation).await;
            match tabled(result) {
                Ok(answer) if !answer.problems.is_empty() || !answer.errors.is_empty() => {
                    eprintln!("error: {}", answer.error_summary());
                    ExitCode::FAILURE
                }
                Ok(answer) if dry_run && !answer.changes.is_empty() => ExitCode::from(2),
                Ok(_) => ExitCode::SUCCESS,
                Err(code) => code,
            }
        }
        Command::Release { dry_run } => {
            let result = handler::handle(app, &json!({"action": "release", "dry_run": dry_run}), invocation).await;
            tabled(result).err().unwrap_or(ExitCode::SUCCESS)
        }
        Command::Invoke { event } => match read_event(&event) {
            Ok(payload) => print_result(handler::handle(app, &payload, invocation).await),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", event.display());
                ExitCode::FAILURE
            }
        },
        Command::TestWebhook => {
            print_result(handler::handle(app, &json!({"action": "test-webhook"}), invocation).await)
        }
    }
}

/// Outside Lambda the owner id made up by default is the default deployment's own, so a command
/// that writes DNS would act as that deployment (and delete its other names as orphans). It
/// must be named.
fn needs_owner(app: &App, command: &Command) -> Option<String> {
    let what = match command {
        _ if app.config.owner_id.is_some() => return None,
        Command::Apply => "apply",
        Command::Release { dry_run: false } => "release",
        Command::Invoke { .. } => "invoke",
        _ => return None,
    };
    Some(format!(
        "DDNS_OWNER_ID is not set; {what} writes DNS as an owner and will not guess one. To act for a deployment, \
         set it to that deployment's owner id (terraform output -raw owner_id); for records this CLI owns \
         alone, set an id of your own"
    ))
}

/// The event in a JSON file, or on standard input for `-`.
fn read_event(path: &std::path::Path) -> Result<Value, String> {
    let text =
        if path.as_os_str() == "-" { std::io::read_to_string(std::io::stdin()) } else { std::fs::read_to_string(path) };
    serde_json::from_str(&text.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

fn print_result(result: Result<Answer, Error>) -> ExitCode {
    match result {
        Ok(answer) => {
            println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
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

/// Prints the answer's table (a failed invocation's too) and, for a failure, the error.
fn tabled(result: Result<Answer, Error>) -> Result<Answer, ExitCode> {
    match result {
        Ok(answer) => {
            print_table(&answer);
            Ok(answer)
        }
        Err(e) => {
            if let Error::Failed { answer, .. } = &e {
                print_table(answer);
            }
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn print_table(answer: &Answer) {
    if answer.changes.is_empty() && !answer.errors.is_empty() {
        println!("Could not tell whether the records are in sync: {} error(s) stopped the run.", answer.errors.len());
    } else if answer.changes.is_empty() {
        println!("In sync: {} record(s), no changes.", answer.unchanged);
    } else {
        let cell = |v: Option<&str>| v.map_or_else(|| "-".to_string(), str::to_string);
        let rows: Vec<[String; 6]> = answer
            .changes
            .iter()
            .map(|c| {
                [
                    c.action.as_str().to_string(),
                    c.name.clone(),
                    c.rtype.clone(),
                    cell(c.old.as_deref()),
                    cell(c.new.as_deref()),
                    c.status.as_str().to_string(),
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
        println!("{} change(s), {} in sync.", answer.changes.len(), answer.unchanged);
    }
    if let Some(note) = &answer.note {
        println!("Note: {note}");
    }
}
