//! Entry point: tracing, config, clients, then the Lambda runtime, or the CLI outside Lambda.

use std::process::ExitCode;

use clap::Parser;
use dynamic_dns_updater::cli::{self, Cli};
use dynamic_dns_updater::config::Config;
use dynamic_dns_updater::current;
use dynamic_dns_updater::edge::Clients;
use dynamic_dns_updater::handler::{self, App};
use dynamic_dns_updater::notify::Notifier;
use dynamic_dns_updater::report::Progress;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let command = (!in_lambda).then(|| Cli::parse().command);
    init_tracing(in_lambda);

    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return startup_error(&e.to_string()),
    };
    let clients = Clients::load().await;
    let notifier = match &config.webhook {
        Some(settings) => match Notifier::from_settings(settings, &clients.sdk).await {
            Ok(n) => Some(n),
            Err(e) => return startup_error(&format!("invalid configuration:\n  {e}")),
        },
        None => None,
    };
    let zones = match &config.discovery {
        Some(d) => match current::zone_names(&clients, &d.zones).await {
            Ok(z) => z,
            Err(e) => return startup_error(&format!("invalid configuration:\n  {e}")),
        },
        None => Vec::new(),
    };
    let app = App {
        config,
        zones,
        region: clients.sdk.region().map(ToString::to_string),
        clients,
        notifier,
        function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
        emit_metrics: in_lambda,
        progress: Progress { enabled: !in_lambda && std::io::stderr().is_terminal() },
    };
    tracing::info!(records = app.config.mappings.len(), on_stop = ?app.config.on_stop, webhook = app.notifier.as_ref().map(|n| n.host()), "started");

    match command {
        Some(command) => cli::run(&app, command).await,
        None => {
            let app = &app;
            let served = lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
                let account =
                    event.context.invoked_function_arn.split(':').nth(4).map(str::to_string).filter(|a| !a.is_empty());
                handler::handle(app, &event.payload, event.context.deadline(), account).await
            }))
            .await;
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => startup_error(&format!("the Lambda runtime stopped: {e}")),
            }
        }
    }
}

/// JSON lines on stdout in Lambda; readable lines on stderr for the CLI, quiet by default.
fn init_tracing(in_lambda: bool) {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().map(|l| l.to_ascii_lowercase());
    let default = if in_lambda { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level.as_deref().unwrap_or(default)));
    if in_lambda {
        tracing_subscriber::fmt().json().with_env_filter(filter).with_target(false).with_current_span(false).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
}

fn startup_error(message: &str) -> ExitCode {
    tracing::error!(error = %message, "cannot start");
    eprintln!("dynamic-dns-updater: {message}");
    ExitCode::FAILURE
}
