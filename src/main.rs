//! Entry point: tracing, config, the App (clients and start-up reads), then the Lambda runtime,
//! or the CLI outside Lambda.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use dynamic_dns_updater::app::{App, Environment};
use dynamic_dns_updater::cli;
use dynamic_dns_updater::clients::Clients;
use dynamic_dns_updater::config::{self, Config};
use dynamic_dns_updater::handler::{self, Invocation};
use dynamic_dns_updater::progress::{Progress, Silent, Terminal};
use dynamic_dns_updater::report;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

// One invocation at a time: a single-threaded runtime wakes no other threads and touches less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let command = match (!in_lambda).then(cli::parse).transpose() {
        Ok(cli) => cli.map(|cli| cli.command),
        Err(code) => return code,
    };
    if let Some(cli::Command::Completions { shell }) = command {
        return cli::completions(shell);
    }
    init_tracing(in_lambda);
    let app = match start(in_lambda).await {
        Ok(app) => app,
        Err(e) => return startup_error(&e, in_lambda),
    };
    tracing::info!(records = app.config.mappings.len(), on_stop = ?app.config.on_stop, webhook = app.notifier.as_ref().map(|n| n.host()), webhook_unavailable = app.webhook_unavailable.is_some(), "started");
    match command {
        Some(command) => cli::run(&app, command).await,
        None => serve(&app).await,
    }
}

async fn start(in_lambda: bool) -> Result<App, String> {
    for warning in config::environment_warnings(std::env::vars()) {
        tracing::warn!("{warning}");
    }
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let sdk = Clients::loader().load().await;
    if sdk.region().is_none() {
        return Err("no AWS region: set AWS_REGION (or a region in the AWS profile)".into());
    }
    let progress: Box<dyn Progress> =
        if !in_lambda && std::io::stderr().is_terminal() { Box::new(Terminal) } else { Box::new(Silent) };
    let env = Environment {
        function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
        region: sdk.region().map(ToString::to_string),
        emit_metrics: in_lambda,
        progress,
    };
    let clients = Clients::from_sdk(&sdk).reaching(&sdk, &config).await;
    App::build(config, clients, env).await.map_err(|e| format!("cannot start: {e}"))
}

async fn serve(app: &App) -> ExitCode {
    let served = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let account =
            event.context.invoked_function_arn.split(':').nth(4).map(str::to_string).filter(|a| !a.is_empty());
        handler::handle(app, &event.payload, Invocation { deadline: event.context.deadline(), account }).await
    }))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => startup_error(&format!("the Lambda runtime stopped: {e}"), true),
    }
}

/// JSON lines on stdout in Lambda; readable lines on stderr for the CLI, quiet by default.
/// RUST_LOG (else Lambda's AWS_LAMBDA_LOG_LEVEL) takes a level or `target=level` directives.
fn init_tracing(in_lambda: bool) {
    // The CLI says a missing credential once, in its own words; the SDK's chain need not too.
    let default = if in_lambda { "info" } else { "warn,aws_config=error" };
    let wanted = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_else(|_| default.to_string());
    let filter: Targets = wanted.parse().unwrap_or_else(|_| {
        eprintln!("dynamic-dns-updater: RUST_LOG: {wanted:?} is not a level (error, warn, info, debug, trace) or a list of target=level; using {default}");
        default.parse().expect("a level parses")
    });
    let registry = tracing_subscriber::registry().with(filter);
    if in_lambda {
        registry.with(fmt::layer().json().with_target(false).with_current_span(false)).init();
    } else {
        registry.with(fmt::layer().with_writer(std::io::stderr)).init();
    }
}

/// Says why the process cannot go on, once: on stderr for the CLI; in Lambda as a log line and
/// a metrics line (no webhook can carry it, so an alarm watches the metric).
fn startup_error(message: &str, in_lambda: bool) -> ExitCode {
    if !in_lambda {
        eprintln!("dynamic-dns-updater: {message}");
        return ExitCode::FAILURE;
    }
    tracing::error!(error = %message, "cannot start");
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| config::DEFAULT_NAME.into());
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    println!("{}", report::startup_failure_line(&function, now));
    ExitCode::FAILURE
}
