//! One invocation, start to finish: event -> trigger -> desired -> current -> plan -> apply ->
//! report -> notify. The order of this file is the order the data flows.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::{error, info, warn};

use crate::config::{Config, Mapping};
use crate::desired::{self, Instance};
use crate::edge::{Budget, Clients, Failure, FailureKind};
use crate::event::{self, InstanceState, Trigger, UnsupportedEvent};
use crate::names::InstanceId;
use crate::notify::{Alert, AlertKind, Notifier};
use crate::plan::{self, Current};
use crate::report::{ChangeReport, Report};
use crate::{apply, current, instances};

/// Time kept back from Lambda's deadline so the answer always gets out.
const ANSWER_RESERVE: Duration = Duration::from_millis(300);
/// Time kept back from the AWS work for the webhook.
const WEBHOOK_RESERVE: Duration = Duration::from_millis(3_500);
/// How long a `running` event waits for the instance's public address at most.
const ADDRESS_WAIT: Duration = Duration::from_secs(20);

/// Everything built once per process and borrowed by each invocation.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub clients: Clients,
    pub notifier: Option<Notifier>,
    pub function: Option<String>,
    pub region: Option<String>,
    /// Write the EMF metrics line (in Lambda, not in the CLI).
    pub emit_metrics: bool,
}

/// Why an invocation failed; `errorType` in Lambda's answer is the variant's kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Unsupported(#[from] UnsupportedEvent),
    #[error("{summary}")]
    Failed { kind: FailureKind, summary: String, report: Box<Report> },
    #[error("{0}")]
    Webhook(String),
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        let error_type = match &e {
            Error::Unsupported(_) => "UnsupportedEvent".to_string(),
            Error::Failed { kind, .. } => format!("{kind:?}"),
            Error::Webhook(_) => "WebhookFailed".to_string(),
        };
        lambda_runtime::Diagnostic { error_type, error_message: e.to_string() }
    }
}

/// Handles one payload. `account` comes from the event or the function's ARN.
pub async fn handle(app: &App, payload: &Value, deadline: SystemTime, account: Option<String>) -> Result<Value, Error> {
    let total = Budget::until(deadline, ANSWER_RESERVE);
    let trigger = match event::parse(payload) {
        Ok(t) => t,
        Err(e) => {
            error!(error = %e, "event rejected");
            return Err(e.into());
        }
    };
    let account = payload.get("account").and_then(Value::as_str).map(str::to_string).or(account);
    if trigger == Trigger::TestWebhook {
        return test_webhook(app, &total, account).await;
    }

    let started = std::time::Instant::now();
    let calls_before = app.clients.calls.get();
    let mut report = Report::new(trigger.label(), trigger.dry_run());
    let aws_budget = total.shortened(WEBHOOK_RESERVE.min(total.remaining() / 3));
    reconcile(app, &trigger, &aws_budget, &mut report).await;
    report.aws_calls = app.clients.calls.get() - calls_before;

    for c in &report.changes {
        info!(name = %c.name, r#type = %c.rtype, action = ?c.action, old = ?c.old, new = ?c.new, instance = %c.instance_id, status = c.status, "record change");
    }
    for e in &report.errors {
        error!(kind = ?e.kind, scope = %e.scope, message = %e.message, "reconcile error");
    }
    // A dry run changed nothing, so it alerts only on failure.
    let effective = if report.dry_run { Vec::new() } else { report.effective_changes() };
    if (!effective.is_empty() || !report.errors.is_empty())
        && let Some(notifier) = &app.notifier
    {
        let alert = Alert {
            event: if report.errors.is_empty() { AlertKind::Changed } else { AlertKind::Failed },
            account,
            region: app.region.clone(),
            function: app.function.clone(),
            trigger: report.trigger.clone(),
            cause: cause(&trigger),
            dry_run: report.dry_run,
            changes: effective,
            errors: report.errors.clone(),
        };
        let delivery = notifier.send(&alert, &total).await;
        if let Some(err) = &delivery.error {
            error!(host = %delivery.host, attempts = delivery.attempts, error = %err, "webhook delivery failed");
        }
        report.webhook = Some(delivery);
    }
    info!(
        trigger = %report.trigger,
        dry_run = report.dry_run,
        changes = report.changes.len(),
        unchanged = report.unchanged,
        errors = report.errors.len(),
        aws_calls = report.aws_calls,
        duration_ms = started.elapsed().as_millis() as u64,
        outcome = if report.errors.is_empty() { "ok" } else { "failed" },
        "invocation finished"
    );
    if app.emit_metrics {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        println!("{}", report.metrics_line(app.function.as_deref().unwrap_or("dynamic-dns-updater"), now));
    }
    match report.errors.first() {
        None => Ok(serde_json::to_value(&report).unwrap_or_default()),
        Some(first) => {
            Err(Error::Failed { kind: first.kind, summary: report.error_summary(), report: Box::new(report) })
        }
    }
}

/// The records a trigger covers, or a note on why it covers none.
fn scope<'a>(config: &'a Config, trigger: &Trigger) -> Result<Vec<&'a Mapping>, String> {
    let of = |id: &InstanceId| config.mappings.iter().filter(|m| &m.instance == id).collect::<Vec<_>>();
    match trigger {
        Trigger::StateChange { state: InstanceState::Other, raw_state, .. } => {
            Err(format!("state {raw_state} needs no DNS change"))
        }
        Trigger::StateChange { instance, .. } => {
            let mappings = of(instance);
            if mappings.is_empty() { Err(format!("instance {instance} is not configured")) } else { Ok(mappings) }
        }
        Trigger::Schedule | Trigger::Manual { instance_ids: None, .. } => Ok(config.mappings.iter().collect()),
        Trigger::Manual { instance_ids: Some(ids), .. } => {
            let unknown: Vec<String> = ids.iter().filter(|id| of(id).is_empty()).map(ToString::to_string).collect();
            if !unknown.is_empty() {
                return Err(format!("not configured: {}", unknown.join(", ")));
            }
            Ok(ids.iter().flat_map(of).collect())
        }
        Trigger::TestWebhook => Ok(Vec::new()),
    }
}

async fn reconcile(app: &App, trigger: &Trigger, budget: &Budget, report: &mut Report) {
    let mappings = match scope(&app.config, trigger) {
        Ok(m) => m,
        Err(note) => {
            info!(note = %note, "nothing to reconcile");
            report.note = Some(note);
            return;
        }
    };
    let instances = match describe(app, trigger, budget, &mappings).await {
        Ok(i) => i,
        Err(f) => {
            report.errors.push(f);
            return;
        }
    };
    let desired = desired::desired(&mappings, &instances, app.config.on_stop);

    let mut by_zone: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for d in &desired {
        by_zone.entry(d.zone.clone()).or_default().push(d.name.clone());
    }
    let mut current = Current::new();
    let mut readable = Vec::new();
    for (zone, names) in &by_zone {
        match current::read(&app.clients, budget, zone, names).await {
            Ok(records) => {
                readable.push(zone.clone());
                for r in records {
                    current.entry((zone.clone(), r.name.clone())).or_default().push(r);
                }
            }
            Err(f) => report.errors.push(f.at(zone.as_str())),
        }
    }
    // A zone that could not be read is never written.
    let desired: Vec<_> = desired.into_iter().filter(|d| readable.contains(&d.zone)).collect();
    let plan = plan::plan(&desired, &current);
    report.unchanged = plan.unchanged;
    for c in &plan.conflicts {
        warn!(name = %c.name, r#type = %c.rtype, reason = %c.reason, "record left alone");
        report.errors.push(Failure {
            kind: FailureKind::Conflict,
            scope: format!("{} {}", c.name, c.rtype),
            message: c.reason.clone(),
        });
    }
    if trigger.dry_run() {
        report.changes = plan.changes.iter().map(|c| ChangeReport::new(c, "planned")).collect();
        return;
    }
    let outcomes = apply::apply(
        &app.clients,
        budget,
        plan::batches(&plan.changes),
        &format!("dynamic-dns-updater: {}", trigger.label()),
    )
    .await;
    report.add_outcomes(outcomes);
}

/// Describes the instances. After a `running` event, re-checks briefly until the instance shows
/// the addresses its records need, within the budget.
async fn describe(
    app: &App,
    trigger: &Trigger,
    budget: &Budget,
    mappings: &[&Mapping],
) -> Result<HashMap<InstanceId, Instance>, Failure> {
    let mut ids: Vec<InstanceId> = mappings.iter().map(|m| m.instance.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut found = instances::describe(&app.clients, budget, &ids).await?;
    let Trigger::StateChange { instance, state: InstanceState::Running, .. } = trigger else {
        return Ok(found);
    };
    let waiting_until =
        tokio::time::Instant::now() + ADDRESS_WAIT.min(budget.remaining().saturating_sub(Duration::from_secs(2)));
    let mut pause = Duration::from_millis(250);
    while !has_addresses(found.get(instance), mappings) && tokio::time::Instant::now() + pause < waiting_until {
        info!(instance = %instance, wait_ms = pause.as_millis() as u64, "no public address yet; checking again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
        found = instances::describe(&app.clients, budget, &ids).await?;
    }
    Ok(found)
}

fn has_addresses(instance: Option<&Instance>, mappings: &[&Mapping]) -> bool {
    let Some(i) = instance else { return false };
    if !matches!(i.state.as_str(), "running" | "pending") {
        // Stopped again since the event: nothing to wait for.
        return true;
    }
    mappings.iter().filter(|m| m.instance == i.id).flat_map(|m| &m.types).all(|t| i.address(*t).is_some())
}

fn cause(trigger: &Trigger) -> String {
    match trigger {
        Trigger::StateChange { raw_state, .. } if raw_state == "running" => "instance started".into(),
        Trigger::StateChange { raw_state, .. } => format!("instance {raw_state}"),
        Trigger::Schedule => "drift corrected".into(),
        Trigger::Manual { .. } => "manual reconcile".into(),
        Trigger::TestWebhook => "test".into(),
    }
}

async fn test_webhook(app: &App, budget: &Budget, account: Option<String>) -> Result<Value, Error> {
    let Some(notifier) = &app.notifier else {
        return Err(Error::Webhook(
            "no webhook is configured (set DDNS_WEBHOOK_URL or DDNS_WEBHOOK_URL_PARAMETER)".into(),
        ));
    };
    let alert = Alert {
        event: AlertKind::Test,
        account,
        region: app.region.clone(),
        function: app.function.clone(),
        trigger: "test-webhook".into(),
        cause: "test".into(),
        dry_run: false,
        changes: Vec::new(),
        errors: Vec::new(),
    };
    let delivery = notifier.send(&alert, budget).await;
    info!(host = %delivery.host, status = ?delivery.status, attempts = delivery.attempts, "test webhook sent");
    match &delivery.error {
        None => Ok(serde_json::json!({ "webhook": delivery })),
        Some(err) => {
            error!(host = %delivery.host, error = %err, "webhook delivery failed");
            Err(Error::Webhook(format!("test webhook failed: {err}")))
        }
    }
}
