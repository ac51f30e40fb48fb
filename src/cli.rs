//! The same binary outside Lambda: plan, apply, release, invoke and test-webhook through the same
//! handler, list of what this owner holds, and shell completions; its answers and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::budget::Budget;
use crate::handler::{self, Error, Invocation};
use crate::names::InstanceId;
use crate::records::Change;
use crate::release;
use crate::report::{Answer, ChangeReport};

/// How long a CLI run may take, standing in for Lambda's deadline.
const CLI_DEADLINE: Duration = Duration::from_secs(300);

/// The exit codes: 0 in sync (or done), 2 changes pending (plan), 1 failed or needs a person,
/// 64 a command line that could not be used (EX_USAGE).
pub const EXIT_PENDING: u8 = 2;
pub const EXIT_USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "dynamic-dns-updater",
    version,
    about = "Keep Route53 records pointed at EC2 instances' current addresses (public or private).",
    long_about = "Keep Route53 records pointed at EC2 instances' current addresses (public or private).\n\n\
In Lambda (AWS_LAMBDA_RUNTIME_API set) it serves events. Anywhere else it is this CLI, reading the same \
DDNS_* configuration from the environment and AWS credentials the usual way.\n\n\
apply, release and invoke write DNS as an owner, so outside Lambda they need DDNS_OWNER_ID: the \
deployment's (the Terraform output owner_id) to act for it, or one of your own for records this CLI \
owns. plan and list show what would change, and what is held, without it; every command says the owner id \
it acts as.\n\n\
The main settings: DDNS_RECORDS (a JSON list of {instance_id, zone_id, name}) or DDNS_TAG_KEY with \
DDNS_ZONES (fleet mode), DDNS_OWNER_ID, DDNS_ON_STOP (delete or keep), DDNS_TTL and DDNS_WEBHOOK_URL. \
Every variable is in the README's Configuration table.\n\n\
Exit codes: 0 in sync or done; 2 changes pending (plan); 1 failed or needs a person; 64 a command \
line that could not be used."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the changes a reconcile would make. Exit 0 when in sync, 2 when changes are pending, 1 when
    /// something went wrong or needs a person (a record someone else owns, say).
    Plan(Reconcile),
    /// Make the changes. Exit 0 on success, 1 when something went wrong or needs a person.
    Apply(Reconcile),
    /// Delete every record and ownership marker this owner holds in the configured zones, as before
    /// the deployment is removed. Exit 0 when all are gone, 1 otherwise.
    Release {
        /// List what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the names this owner holds in the configured zones: name, type, value, instance and
    /// ownership marker. Writes nothing. Exit 0, or 1 when a zone could not be read.
    #[command(visible_alias = "status")]
    List {
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Run one event (a JSON file, or - for stdin) through the handler and print the result.
    Invoke { event: PathBuf },
    /// Send a test alert through the configured webhook.
    TestWebhook,
    /// Print a completion script for SHELL on standard output (for example
    /// `dynamic-dns-updater completions bash > /etc/bash_completion.d/dynamic-dns-updater`).
    Completions { shell: clap_complete::Shell },
}

/// What plan and apply cover, and how they answer.
#[derive(Debug, Args)]
pub struct Reconcile {
    /// Only the names of these instances (comma-separated, or the flag repeated).
    #[arg(long, value_name = "ID", value_delimiter = ',', value_parser = instance_id)]
    instance_ids: Vec<InstanceId>,
    /// Let the run past the safety valve, which holds back a plan that would delete much of what
    /// this owner holds.
    #[arg(long)]
    force: bool,
    /// How the answer is printed: a table, or the answer as JSON (the function's own).
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

fn instance_id(raw: &str) -> Result<InstanceId, String> {
    InstanceId::parse(raw).map_err(|e| e.to_string())
}

/// The command line, or the exit code when there is none to run: 0 after `--help` or
/// `--version`, [`EXIT_USAGE`] for a command line that could not be used (clap's own is 2, which
/// here means changes pending).
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() { ExitCode::from(EXIT_USAGE) } else { ExitCode::SUCCESS }
    })
}

/// Prints the completion script for `shell`; needs no configuration and no AWS.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    clap_complete::generate(shell, &mut Cli::command(), "dynamic-dns-updater", &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub async fn run(app: &App, command: Command) -> ExitCode {
    let invocation = Invocation { deadline: SystemTime::now() + CLI_DEADLINE, account: None };
    if let Some(refusal) = needs_owner(app, &command) {
        eprintln!("error: {refusal}");
        return ExitCode::FAILURE;
    }
    if !matches!(command, Command::TestWebhook | Command::Completions { .. }) {
        let made = if app.config.owner_id.is_none() { " (made up: DDNS_OWNER_ID is not set)" } else { "" };
        eprintln!("Owner id: {}{made}", app.owner.id);
    }
    match command {
        Command::Plan(how) => reconcile(app, how, true, invocation).await,
        Command::Apply(how) => reconcile(app, how, false, invocation).await,
        Command::Release { dry_run } => {
            let result = handler::handle(app, &json!({"action": "release", "dry_run": dry_run}), invocation).await;
            shown(result, Output::Table).err().unwrap_or(ExitCode::SUCCESS)
        }
        Command::List { output } => list(app, output).await,
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
        Command::Completions { shell } => completions(shell),
    }
}

/// plan (a dry run) or apply, as a manual reconcile of what the flags cover.
async fn reconcile(app: &App, how: Reconcile, dry_run: bool, invocation: Invocation) -> ExitCode {
    let mut event = json!({"action": "reconcile", "dry_run": dry_run, "force": how.force});
    if !how.instance_ids.is_empty() {
        let ids: Vec<String> = how.instance_ids.iter().map(ToString::to_string).collect();
        event["instance_ids"] = json!(ids);
    }
    let result = handler::handle(app, &event, invocation).await;
    let answer = shown(result, how.output);
    match answer {
        Ok(answer) if !answer.problems.is_empty() || !answer.errors.is_empty() => {
            eprintln!("error: {}", answer.error_summary());
            ExitCode::FAILURE
        }
        Ok(answer) if dry_run && !answer.changes.is_empty() => ExitCode::from(EXIT_PENDING),
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// One name this owner holds, as `list` shows it.
#[derive(Debug, Serialize)]
struct Held {
    zone_id: String,
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    value: String,
    instance: String,
    /// The ownership marker's value at the name.
    marker: String,
}

/// The names this owner holds: what a release would delete, read and listed, nothing written.
async fn list(app: &App, output: Output) -> ExitCode {
    let budget = Budget::until(SystemTime::now() + CLI_DEADLINE, Duration::ZERO);
    let found = release::held(app, &budget).await;
    app.env.progress.done();
    let rows = holdings(&found.planned);
    match output {
        Output::Json => print_json(&json!({"owner": app.owner.id, "records": rows, "errors": found.failures})),
        Output::Table if rows.is_empty() => println!("This owner holds no records in the configured zones."),
        Output::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|h| vec![h.name.clone(), h.rtype.clone(), h.value.clone(), h.instance.clone(), h.marker.clone()])
                .collect();
            print_rows(&["NAME", "TYPE", "VALUE", "INSTANCE", "MARKER"], &cells);
            println!("{} record(s) held.", rows.len());
        }
    }
    if found.failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    for f in &found.failures {
        eprintln!("error: {}: {}", f.heading(), f.message);
    }
    ExitCode::FAILURE
}

/// A release's deletes as rows: each record with the marker that guards its name; a marker
/// guarding no record is a row of its own.
fn holdings(deletes: &[Change]) -> Vec<Held> {
    let values = |c: &Change| c.old.as_ref().map(|d| d.values.join(",")).unwrap_or_default();
    let marker_of = |c: &Change| {
        deletes.iter().find(|m| m.is_marker() && m.zone == c.zone && m.name == c.name.marker()).map(values)
    };
    let row = |c: &Change, name: String, rtype: String, value: String, marker: String| Held {
        zone_id: c.zone.to_string(),
        name,
        rtype,
        value,
        instance: c.instance.to_string(),
        marker,
    };
    let mut rows: Vec<Held> = deletes
        .iter()
        .filter(|c| !c.is_marker())
        .map(|c| row(c, c.name.display(), c.rtype.to_string(), values(c), marker_of(c).unwrap_or_default()))
        .collect();
    for m in deletes.iter().filter(|m| m.is_marker()) {
        let guards = |c: &Change| !c.is_marker() && c.zone == m.zone && c.name.marker() == m.name;
        if !deletes.iter().any(guards) {
            let name = m.name.guarded().unwrap_or_else(|| m.name.clone()).display();
            rows.push(row(m, name, "-".into(), "-".into(), values(m)));
        }
    }
    rows
}

/// Outside Lambda the owner id made up by default is the default deployment's own, so a command
/// that writes DNS would act as that deployment (and delete its other names as orphans). It
/// must be named.
fn needs_owner(app: &App, command: &Command) -> Option<String> {
    let what = match command {
        _ if app.config.owner_id.is_some() => return None,
        Command::Apply(_) => "apply",
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
            print_json(&answer);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let d: lambda_runtime::Diagnostic = e.into();
            print_json(&json!({"errorType": d.error_type, "errorMessage": d.error_message}));
            ExitCode::FAILURE
        }
    }
}

/// Prints the answer (a failed invocation's too) as a table or as JSON and, for a failure, the
/// error.
fn shown(result: Result<Answer, Error>, output: Output) -> Result<Answer, ExitCode> {
    let print = |answer: &Answer| match output {
        Output::Table => print_table(answer),
        Output::Json => print_json(answer),
    };
    match result {
        Ok(answer) => {
            print(&answer);
            Ok(answer)
        }
        Err(Error::Failed { answer, summary, .. }) => {
            print(&answer);
            eprintln!("error: {summary}");
            Err(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("error: {e}");
            if output == Output::Json {
                print_result(Err(e));
            }
            Err(ExitCode::FAILURE)
        }
    }
}

fn print_json(value: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn print_table(answer: &Answer) {
    let release = answer.trigger.starts_with("release");
    let (errors, problems) = (answer.errors.len(), answer.problems.len());
    if answer.changes.is_empty() {
        println!("{}", summary(release, answer, errors, problems));
    } else {
        let cell = |v: Option<&str>| v.map_or_else(|| "-".to_string(), str::to_string);
        let rows: Vec<Vec<String>> = answer
            .changes
            .iter()
            .map(|c: &ChangeReport| {
                vec![
                    c.action.as_str().to_string(),
                    c.name.clone(),
                    c.rtype.clone(),
                    cell(c.old.as_deref()),
                    cell(c.new.as_deref()),
                    c.status.as_str().to_string(),
                ]
            })
            .collect();
        print_rows(&["ACTION", "NAME", "TYPE", "OLD", "NEW", "STATUS"], &rows);
        let mut line = format!("{} change(s), {} in sync", answer.changes.len(), answer.unchanged);
        if errors + problems > 0 {
            line.push_str(&format!("; {errors} error(s), {problems} problem(s)"));
        }
        println!("{line}.");
    }
    if let Some(note) = &answer.note {
        println!("Note: {note}");
    }
}

/// The line for an answer with no changes: "In sync" only when nothing went wrong, and never
/// for a release, which has nothing to be in sync with.
fn summary(release: bool, answer: &Answer, errors: usize, problems: usize) -> String {
    match (release, errors, problems) {
        (_, 1.., _) => format!("Could not tell whether the records are in sync: {errors} error(s) stopped the run."),
        (true, 0, 1..) => format!("Nothing released: {problems} problem(s) stopped the release."),
        (true, 0, 0) => "Nothing to release: this owner holds no records in the configured zones.".into(),
        (false, 0, 1..) => format!(
            "Not in sync: {problems} problem(s) need a person; {} record(s) unchanged, no changes.",
            answer.unchanged
        ),
        (false, 0, 0) if answer.note.is_some() => {
            format!("No changes: {} record(s) unchanged; see the note below.", answer.unchanged)
        }
        (false, 0, 0) => format!("In sync: {} record(s), no changes.", answer.unchanged),
    }
}

/// Rows under a header, each column as wide as its widest cell.
fn print_rows(header: &[&str], rows: &[Vec<String>]) {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(&header).chain(rows) {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
}
