//! One invocation, start to finish: event -> trigger -> desired -> current -> plan -> apply ->
//! report -> notify. The order of this file is the order the data flows.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::{error, info, warn};

use crate::config::{Config, Mapping};
use crate::desired::{self, Desired, Instance};
use crate::edge::{Budget, Clients, Failure, FailureKind};
use crate::event::{self, InstanceState, Trigger, UnsupportedEvent};
use crate::names::{InstanceId, RecordName, RecordType, ZoneId};
use crate::notify::{Alert, AlertKind, Notifier};
use crate::plan::{self, Current, Orphans, Rules};
use crate::report::{Progress, Report};
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
    /// The allowed zones' names, learned once at start-up (fleet mode).
    pub zones: Vec<(ZoneId, RecordName)>,
    pub function: Option<String>,
    pub region: Option<String>,
    /// Write the EMF metrics line (in Lambda, not in the CLI).
    pub emit_metrics: bool,
    /// Progress lines for long CLI runs on a terminal.
    pub progress: Progress,
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
            let mut report = Report::new("rejected".into(), false);
            report.errors.push(Failure {
                kind: FailureKind::UnsupportedEvent,
                scope: String::new(),
                message: e.to_string(),
            });
            metrics(app, &report);
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
    app.progress.done();
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
    metrics(app, &report);
    match report.errors.first() {
        None => Ok(serde_json::to_value(&report).unwrap_or_default()),
        Some(first) => {
            Err(Error::Failed { kind: first.kind, summary: report.error_summary(), report: Box::new(report) })
        }
    }
}

/// Writes the invocation's metrics line (Lambda only): one per invocation, whatever it was.
fn metrics(app: &App, report: &Report) {
    if app.emit_metrics {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        println!("{}", report.metrics_line(app.function.as_deref().unwrap_or("dynamic-dns-updater"), now));
    }
}

/// What one trigger covers.
struct Scope<'a> {
    mappings: Vec<&'a Mapping>,
    /// Instances to describe by id.
    ids: Vec<InstanceId>,
    /// Describe every tagged instance too (a fleet sweep).
    all_tagged: bool,
    /// Read allowed zones whole, to find orphaned markers.
    whole_zones: bool,
    orphans: Orphans,
}

/// The records a trigger covers, or a note on why it covers none.
fn scope<'a>(config: &'a Config, trigger: &Trigger) -> Result<Scope<'a>, String> {
    let of = |id: &InstanceId| config.mappings.iter().filter(|m| &m.instance == id).collect::<Vec<_>>();
    let fleet = config.discovery.is_some();
    let one = |id: &InstanceId, whole_zones: bool| Scope {
        mappings: of(id),
        ids: vec![id.clone()],
        all_tagged: false,
        whole_zones,
        orphans: if whole_zones { Orphans::Of(vec![id.clone()]) } else { Orphans::Ignore },
    };
    match trigger {
        Trigger::StateChange { state: InstanceState::Other, raw_state, .. } => {
            Err(format!("state {raw_state} needs no DNS change"))
        }
        Trigger::StateChange { instance, .. } => {
            if of(instance).is_empty() && !fleet {
                return Err(format!("instance {instance} is not configured"));
            }
            Ok(one(instance, false))
        }
        Trigger::TagChange { instance, changed_keys } => match &config.discovery {
            None => Err("tag discovery is off (DDNS_TAG_KEY is not set)".into()),
            Some(d) if !changed_keys.contains(&d.tag_key) => Err(format!("tag {} did not change", d.tag_key)),
            // Its old names are known only from the markers, so read the allowed zones whole.
            Some(_) => Ok(one(instance, true)),
        },
        Trigger::Schedule | Trigger::Manual { instance_ids: None, .. } => {
            let mut ids: Vec<InstanceId> = config.mappings.iter().map(|m| m.instance.clone()).collect();
            ids.sort();
            ids.dedup();
            Ok(Scope {
                mappings: config.mappings.iter().collect(),
                ids,
                all_tagged: fleet,
                whole_zones: fleet,
                orphans: if fleet { Orphans::All } else { Orphans::Ignore },
            })
        }
        Trigger::Manual { instance_ids: Some(ids), .. } => {
            let unknown: Vec<String> = ids.iter().filter(|id| of(id).is_empty()).map(ToString::to_string).collect();
            if !unknown.is_empty() && !fleet {
                return Err(format!("not configured: {}", unknown.join(", ")));
            }
            Ok(Scope {
                mappings: ids.iter().flat_map(of).collect(),
                ids: ids.clone(),
                all_tagged: false,
                whole_zones: fleet,
                orphans: if fleet { Orphans::Of(ids.clone()) } else { Orphans::Ignore },
            })
        }
        Trigger::TestWebhook => Err("a test alert changes no DNS".into()),
    }
}

async fn reconcile(app: &App, trigger: &Trigger, budget: &Budget, report: &mut Report) {
    let config = &app.config;
    let scope = match scope(config, trigger) {
        Ok(s) => s,
        Err(note) => {
            info!(note = %note, "nothing to reconcile");
            report.note = Some(note);
            return;
        }
    };
    app.progress.say("describing instances");
    let instances = match describe(app, trigger, budget, &scope).await {
        Ok(i) => i,
        Err(f) => {
            report.errors.push(f);
            return;
        }
    };
    let mut desired = desired::desired(&scope.mappings, &instances, config.on_stop);
    if let Some(discovery) = &config.discovery {
        let (found, refusals) = desired::discovered(
            &instances,
            discovery,
            &app.zones,
            &config.mappings,
            config.default_ttl,
            config.on_stop,
        );
        desired.extend(found);
        for r in refusals {
            let scope = format!("{} {}", r.instance, r.name);
            report.errors.push(Failure { kind: FailureKind::Refused, scope, message: r.reason });
        }
    }
    if desired.is_empty() && !scope.whole_zones {
        let note = match &scope.ids[..] {
            [id] => format!("instance {id} is neither configured nor tagged"),
            _ => "no records to reconcile".to_string(),
        };
        info!(note = %note, "nothing to reconcile");
        report.note = Some(note);
        return;
    }

    let (current, readable) = read_current(app, budget, &scope, &desired, report).await;
    // A zone that could not be read is never written.
    let desired: Vec<_> = desired.into_iter().filter(|d| readable.contains(&d.zone)).collect();
    let rules = Rules { owner: &config.owner, orphans: scope.orphans.clone(), force: trigger.force() };
    let plan = plan::plan(&desired, &current, &rules);
    report.unchanged = plan.unchanged;
    for c in &plan.conflicts {
        warn!(name = %c.name, r#type = %c.rtype, reason = %c.reason, "record left alone");
        let scope = format!("{} {} ({})", c.name, c.rtype, c.instance);
        report.errors.push(Failure { kind: FailureKind::Conflict, scope, message: c.reason.clone() });
    }
    if let Some(reason) = plan.blocked {
        report.errors.push(Failure { kind: FailureKind::SafetyValve, scope: String::new(), message: reason });
        return;
    }
    if trigger.dry_run() {
        report.add_planned(&plan.changes);
        return;
    }
    let comment = format!("dynamic-dns-updater ({}): {}", config.owner, trigger.label());
    let mut outcomes = apply::apply(&app.clients, budget, plan::batches(&plan.changes), &comment, app.progress).await;

    // Route53 rejects a change when the record moved since it was read (another invocation got
    // there first, say). Read those names again and plan them once more.
    let rejected: Vec<(ZoneId, RecordName)> = rejected_names(&outcomes);
    if !rejected.is_empty() {
        info!(names = rejected.len(), "changes rejected; reading those names again");
        let again: Vec<Desired> =
            desired.iter().filter(|d| rejected.contains(&(d.zone.clone(), d.name.clone()))).cloned().collect();
        let mut by_zone: BTreeMap<ZoneId, Vec<RecordName>> = BTreeMap::new();
        for (zone, name) in &rejected {
            by_zone.entry(zone.clone()).or_default().extend([name.clone(), name.marker()]);
        }
        let (current, _) = read(app, budget, &[], by_zone, report).await;
        let orphans = match &scope.orphans {
            Orphans::Ignore => Orphans::Ignore,
            _ => Orphans::All,
        };
        let plan = plan::plan(&again, &current, &Rules { orphans, ..rules });
        report.unchanged += plan.unchanged;
        outcomes.retain(|o| !rejected.contains(&(o.change.zone.clone(), o.change.group_name())));
        outcomes.extend(apply::apply(&app.clients, budget, plan::batches(&plan.changes), &comment, app.progress).await);
    }
    report.add_outcomes(outcomes);
}

/// The (zone, name) groups with a change Route53 rejected.
fn rejected_names(outcomes: &[apply::Outcome]) -> Vec<(ZoneId, RecordName)> {
    let mut names: Vec<(ZoneId, RecordName)> = outcomes
        .iter()
        .filter(|o| o.result.as_ref().is_err_and(|f| f.kind == FailureKind::Route53Rejected))
        .map(|o| (o.change.zone.clone(), o.change.group_name()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Reads what Route53 holds: allowed zones whole in a fleet sweep, else only the wanted names
/// and their markers. Returns the zones that could be read.
async fn read_current(
    app: &App,
    budget: &Budget,
    scope: &Scope<'_>,
    desired: &[Desired],
    report: &mut Report,
) -> (Current, Vec<ZoneId>) {
    let whole: Vec<ZoneId> = match (&app.config.discovery, scope.whole_zones) {
        (Some(d), true) => d.zones.clone(),
        _ => Vec::new(),
    };
    let mut by_zone: BTreeMap<ZoneId, Vec<RecordName>> = BTreeMap::new();
    for zone in &whole {
        by_zone.entry(zone.clone()).or_default();
    }
    for d in desired {
        by_zone.entry(d.zone.clone()).or_default().extend([d.name.clone(), d.name.marker()]);
    }
    read(app, budget, &whole, by_zone, report).await
}

/// Reads `whole` zones entirely and the other zones at the given names.
async fn read(
    app: &App,
    budget: &Budget,
    whole: &[ZoneId],
    by_zone: BTreeMap<ZoneId, Vec<RecordName>>,
    report: &mut Report,
) -> (Current, Vec<ZoneId>) {
    let mut current = Current::new();
    let mut readable = Vec::new();
    for (zone, names) in &by_zone {
        let records = if whole.contains(zone) {
            current::read_zone(&app.clients, budget, zone, app.progress).await
        } else {
            current::read(&app.clients, budget, zone, names).await
        };
        match records {
            Ok(records) => {
                readable.push(zone.clone());
                for r in records {
                    current.entry((zone.clone(), r.name.clone())).or_default().push(r);
                }
            }
            Err(f) => report.errors.push(f.at(zone.as_str())),
        }
    }
    (current, readable)
}

/// Describes the instances in scope. After a `running` event, re-checks briefly until the
/// instance shows the addresses its records need, within the budget.
async fn describe(
    app: &App,
    trigger: &Trigger,
    budget: &Budget,
    scope: &Scope<'_>,
) -> Result<HashMap<InstanceId, Instance>, Failure> {
    let tag_key = app.config.discovery.as_ref().map(|d| d.tag_key.as_str());
    let fetch = || async {
        let mut found = if scope.ids.is_empty() {
            HashMap::new()
        } else {
            instances::describe(&app.clients, budget, &scope.ids, tag_key).await?
        };
        if let (true, Some(key)) = (scope.all_tagged, tag_key) {
            found.extend(instances::describe_tagged(&app.clients, budget, key).await?);
        }
        Ok::<_, Failure>(found)
    };
    let mut found = fetch().await?;
    let Trigger::StateChange { instance, state: InstanceState::Running, .. } = trigger else {
        return Ok(found);
    };
    let types = wanted_types(app, instance, found.get(instance));
    let waiting_until =
        tokio::time::Instant::now() + ADDRESS_WAIT.min(budget.remaining().saturating_sub(Duration::from_secs(2)));
    let mut pause = Duration::from_millis(250);
    while !has_addresses(found.get(instance), &types) && tokio::time::Instant::now() + pause < waiting_until {
        info!(instance = %instance, wait_ms = pause.as_millis() as u64, "no public address yet; checking again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
        found = fetch().await?;
    }
    Ok(found)
}

/// The record types an instance's records need, from its mappings and its name tag.
fn wanted_types(app: &App, id: &InstanceId, instance: Option<&Instance>) -> Vec<RecordType> {
    let mut types: Vec<RecordType> =
        app.config.mappings.iter().filter(|m| &m.instance == id).flat_map(|m| m.types.iter().copied()).collect();
    if let (Some(d), Some(_)) = (&app.config.discovery, instance.and_then(|i| i.name_tag.as_ref())) {
        types.extend(d.types.iter().copied());
    }
    types
}

fn has_addresses(instance: Option<&Instance>, types: &[RecordType]) -> bool {
    let Some(i) = instance else { return false };
    if !matches!(i.state.as_str(), "running" | "pending") {
        // Stopped again since the event: nothing to wait for.
        return true;
    }
    types.iter().all(|t| i.address(*t).is_some())
}

fn cause(trigger: &Trigger) -> String {
    match trigger {
        Trigger::StateChange { raw_state, .. } if raw_state == "running" => "instance started".into(),
        Trigger::StateChange { raw_state, .. } => format!("instance {raw_state}"),
        Trigger::TagChange { .. } => "tag changed".into(),
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
    let mut report = Report::new("test-webhook".into(), false);
    report.webhook = Some(delivery.clone());
    metrics(app, &report);
    match &delivery.error {
        None => Ok(serde_json::json!({ "webhook": delivery })),
        Some(err) => {
            error!(host = %delivery.host, error = %err, "webhook delivery failed");
            Err(Error::Webhook(format!("test webhook failed: {err}")))
        }
    }
}
