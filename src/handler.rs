//! One invocation, as a straight line of stages that each return a value: event -> trigger ->
//! scope -> instances -> desired -> current -> registry -> plan -> outcomes -> answer -> alert.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tracing::{error, info, warn};

use crate::app::App;
use crate::budget::{self, Budget};
use crate::desired::{self, Wanted};
use crate::ec2::Described;
use crate::event::{self, AddressTarget, Trigger, UnsupportedEvent};
use crate::failure::{Failure, FailureKind};
use crate::incidents::Coverage;
use crate::instance::Instances;
use crate::names::{InstanceId, Place, RecordName, ZoneId};
use crate::notify::Alert;
use crate::plan::{self, Rules};
use crate::records::Outcome;
use crate::registry::Registry;
use crate::report::{self, Answer, Reconciled};
use crate::route53::{apply, read};
use crate::scope::{self, Scope};
use crate::{alerts, ec2, release, retry};

/// Time kept back from Lambda's deadline so the answer always gets out.
const ANSWER_RESERVE: Duration = Duration::from_millis(300);
/// Time kept back from the AWS work for the webhook.
const WEBHOOK_RESERVE: Duration = Duration::from_millis(3_500);

/// What the runtime tells about one invocation besides its payload.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub deadline: SystemTime,
    /// The account, from the function's ARN; the event's own `account` field wins.
    pub account: Option<String>,
}

/// Why an invocation failed; `errorType` in Lambda's answer names the kind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Unsupported(#[from] UnsupportedEvent),
    #[error("{summary}")]
    Failed { kind: FailureKind, summary: String, answer: Box<Answer> },
    #[error("{0}")]
    Webhook(String),
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        let error_type = match &e {
            Error::Unsupported(_) => FailureKind::UnsupportedEvent.error_type(),
            Error::Failed { kind, .. } => kind.error_type(),
            Error::Webhook(_) => "WebhookFailed",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// Handles one payload.
pub async fn handle(app: &App, payload: &Value, invocation: Invocation) -> Result<Answer, Error> {
    let started = Instant::now();
    let calls = app.clients.calls.get();
    let (deadline, set_aside) = budget::deadline(invocation.deadline, SystemTime::now(), app.config.timeout);
    if set_aside && app.first_time("deadline") {
        warn!(
            timeout_s = app.config.timeout.as_secs(),
            "the runtime's deadline is in the past or implausibly far; using DDNS_TIMEOUT"
        );
    }
    let total = Budget::until(deadline, ANSWER_RESERVE);
    let trigger = match event::parse(payload) {
        Ok(t) => t,
        Err(e) => return Err(rejected(app, e)),
    };
    // An event about an instance is about it where the event comes from.
    let place = match event_place(app, &trigger, payload, invocation.account.as_deref()) {
        Ok(place) => place,
        Err(e) => return Err(rejected(app, e)),
    };
    let trigger = trigger.at(&place);
    let listed_twice = own_place_as_target(app, invocation.account.as_deref());
    let account = payload.get("account").and_then(Value::as_str).map(str::to_string).or(invocation.account);
    if trigger == Trigger::TestWebhook {
        return test_webhook(app, &total, account).await;
    }
    let aws_budget = total.shortened(WEBHOOK_RESERVE.min(total.remaining() / 3));
    let reconciled = match listed_twice {
        Some(refusal) => Reconciled::failed(vec![refusal]),
        None => reconcile(app, &trigger, &place, &aws_budget).await,
    };
    app.env.progress.done();
    let coverage = reconciled.coverage.clone();
    let answer = Answer::new(&trigger, reconciled, 0);
    let mut answer = alerts::alert(app, &trigger, answer, &coverage, account, &total).await;
    answer.aws_calls = app.clients.calls.get() - calls;
    answer.log(started.elapsed());
    metrics(app, &mut answer);
    match answer.failure(&trigger) {
        None => Ok(answer),
        Some(kind) => Err(Error::Failed { kind, summary: answer.error_summary(), answer: Box::new(answer) }),
    }
}

/// The function's own account and region listed in DDNS_TARGETS: its instances would be
/// followed twice, under two names, and each would be taken for another's. Known from the
/// function's ARN, so said on every invocation and nothing is done until it is removed.
fn own_place_as_target(app: &App, own_account: Option<&str>) -> Option<Failure> {
    let own = Place::target(own_account?, app.env.region.as_deref()?).ok()?;
    app.config.targets.iter().any(|t| t.place == own).then(|| {
        Failure::new(
            FailureKind::Refused,
            "DDNS_TARGETS",
            format!(
                "DDNS_TARGETS lists this function's own account and region ({}); they are followed without a role. Remove that entry",
                own.key()
            ),
        )
    })
}

/// Whose instances an event is about: a target's when it comes from a target's account and
/// region, else the function's own. An event about an instance from anywhere else is refused,
/// naming both; a sweep or a manual invocation is about every place.
fn event_place(
    app: &App,
    trigger: &Trigger,
    payload: &Value,
    own_account: Option<&str>,
) -> Result<Place, UnsupportedEvent> {
    let field = |key: &str| payload.get(key).and_then(Value::as_str);
    let (Some(account), Some(region)) = (field("account"), field("region")) else { return Ok(Place::Home) };
    if !trigger.is_about_an_instance() {
        return Ok(Place::Home);
    }
    if let Ok(place) = Place::target(account, region)
        && app.config.follows(&place)
    {
        return Ok(place);
    }
    let home = own_account.is_none_or(|a| a == account) && app.env.region.as_deref().is_none_or(|r| r == region);
    if home {
        return Ok(Place::Home);
    }
    Err(UnsupportedEvent(format!(
        "the event comes from account {account} in region {region}, which is neither this function's own nor a target (DDNS_TARGETS)"
    )))
}

/// Reconciles what `trigger` covers; every stage's failures are kept, in the order they ran.
async fn reconcile(app: &App, trigger: &Trigger, place: &Place, budget: &Budget) -> Reconciled {
    let config = &app.config;
    if let Trigger::Release { dry_run, settle } = trigger {
        return release::release(app, budget, *dry_run, *settle).await;
    }
    // An address event that names a network interface is about the instance behind it.
    let behind;
    let trigger = match trigger {
        Trigger::AddressChange { target: AddressTarget::Interface(eni), cause } => {
            match ec2::behind_interface(&app.clients, budget, place, eni).await {
                Ok(Some(instance)) => {
                    behind = Trigger::AddressChange { target: AddressTarget::Instance(instance), cause };
                    &behind
                }
                Ok(None) => return Reconciled::noted(format!("no instance is behind network interface {eni}")),
                Err(f) => return Reconciled::failed(vec![f]),
            }
        }
        other => other,
    };
    let scope = match scope::scope(config, trigger, app.reads_whole()) {
        Ok(s) => s,
        Err(note) => {
            info!(note = %note, "nothing to reconcile");
            return Reconciled::noted(note);
        }
    };
    let unknown_zones = app.learn_zones().await;
    let zones = app.zones();
    app.env.progress.say(format_args!("describing instances"));
    let ready = |found: &Instances| scope.awaits.as_ref().is_none_or(|id| desired::ready(config, id, found, &zones));
    let (instances, blind) =
        match ec2::describe_scope(&app.clients, budget, &scope, config.discovery.as_ref(), ready).await {
            Ok(found) => (scope::as_it_will_be(trigger, found.instances), found.blind),
            Err(f) => return Reconciled::failed(vec![f]),
        };
    let mut wanted = desired::wanted(config, &scope.mappings, &instances, &zones);
    // A zone whose type is not known is neither read nor written: its problem is said once above.
    wanted.records.retain(|d| zones.iter().any(|z| z.id == d.zone));
    for r in wanted.outside.iter().filter(|r| app.first_time(&format!("outside {}", r.name))) {
        warn!(instance = %r.instance, name = %r.name, "tagged name outside every allowed zone; left to the deployment that serves it");
    }
    // A sweep that wants nothing still reads the names our markers guard, to clean them up.
    let nothing_known = !scope.full || !app.knows_any();
    if wanted.records.is_empty() && scope.whole_zones.is_empty() && nothing_known {
        let note = match &scope.ids[..] {
            [id] => format!("instance {id} is neither configured nor tagged"),
            _ => "no records to reconcile".to_string(),
        };
        info!(note = %note, "nothing to reconcile");
        let coverage = Coverage { described: blind.is_empty(), ..coverage(app, scope.full, Vec::new(), |_| false) };
        let refusals = wanted.refusals.iter().map(report::refused);
        let failures = unknown_zones.into_iter().chain(refusals).chain(blind.into_iter().map(|(_, f)| f)).collect();
        return Reconciled { note: Some(note), coverage, outside: wanted.outside, ..Reconciled::failed(failures) };
    }
    let mut reconciled = converge(app, trigger, budget, &scope, Described { instances, blind }, wanted).await;
    reconciled.failures.splice(0..0, unknown_zones);
    reconciled
}

/// Brings what Route53 holds to what `wanted` asks: read, registry, a look at the instances
/// that decide who holds a name, plan, apply, and the second chance for names that moved.
async fn converge(
    app: &App,
    trigger: &Trigger,
    budget: &Budget,
    scope: &Scope<'_>,
    described: Described,
    wanted: Wanted,
) -> Reconciled {
    let Described { instances, blind } = described;
    let note = unknown_instances(scope, &instances, &blind);
    // A sweep reads, beside the names it wants, every name the process knows our markers guard.
    let known = if scope.full { app.known_names() } else { Vec::new() };
    let names: Vec<(&ZoneId, &RecordName)> =
        wanted.records.iter().map(|d| (&d.zone, &d.name)).chain(known.iter().map(|(z, n)| (z, n))).collect();
    let typed: Vec<ZoneId> = app.zones().into_iter().map(|z| z.id).collect();
    let whole_zones: Vec<ZoneId> = scope.whole_zones.iter().filter(|z| typed.contains(z)).cloned().collect();
    let readings = read::readings(&whole_zones, names.iter().copied());
    let read = read::current(&app.clients, budget, &readings, &*app.env.progress).await;
    let coverage = coverage(app, scope.full, read.readable.clone(), |z| readings.contains_key(z));
    let registry = Registry::read(&read.current, &app.owner);
    let whole: Vec<ZoneId> = scope.whole_zones.iter().filter(|z| read.readable.contains(z)).cloned().collect();
    let by_name: Vec<(ZoneId, RecordName)> =
        names.iter().filter(|(z, _)| read.readable.contains(z)).map(|(z, n)| ((*z).clone(), (*n).clone())).collect();
    app.learned(&whole, &by_name, &registry.held());
    let (instances, wanted, blind) = look_around(app, budget, scope, &registry, instances, wanted, blind).await;
    // What a target that could not be described holds stays as it is this run, and the problems
    // there are not seen to clear.
    let registry = registry.blind_to(blind.iter().map(|(place, _)| place.clone()).collect());
    let coverage = Coverage { described: blind.is_empty(), ..coverage };
    for c in wanted.capped.iter().filter(|c| app.first_time(&format!("capped {}", c.name))) {
        warn!(
            name = %c.name, running = c.running, max = c.max,
            "more members run than DDNS_GROUP_MAX lets the group's record hold; it holds those of the lowest instance ids"
        );
    }
    // A zone that could not be read is never written.
    // Nor is a zone whose type is not known yet.
    let writable: Vec<ZoneId> = read.readable.iter().filter(|z| typed.contains(z)).cloned().collect();
    let candidates = wanted.in_zones(&writable);
    // Names under the earlier default owner id are released only where their instance is seen gone.
    let gone: HashSet<InstanceId> = instances.values().filter(|i| i.state.is_gone()).map(|i| i.id.clone()).collect();
    let configured = app.config.configured_names();
    let rules = Rules { orphans: &scope.orphans, gone: &gone, force: trigger.force(), configured: &configured };
    let plan = plan::plan(&candidates, &read.current, &registry, &rules);
    for c in &plan.conflicts {
        warn!(name = %c.name, r#type = %c.rtype, reason = %c.reason, "record left alone");
    }
    let refusals = wanted.refusals.iter().chain(&plan.refusals).map(report::refused);
    let conflicts = plan.conflicts.iter().map(report::conflicted);
    let seen_all = blind.is_empty();
    let blind_failures = blind.into_iter().map(|(_, f)| f);
    let mut failures: Vec<Failure> = blind_failures.chain(refusals).chain(read.failures).chain(conflicts).collect();
    let (unchanged, outside) = (plan.unchanged, wanted.outside);
    if let Some(reason) = plan.blocked {
        failures.push(report::held_back(reason));
        return Reconciled { note, unchanged, coverage, outside, ..Reconciled::failed(failures) };
    }
    if trigger.dry_run() {
        return Reconciled {
            note,
            planned: plan.changes,
            unchanged,
            coverage,
            outside,
            ..Reconciled::failed(failures)
        };
    }
    let comment = app.owner.comment(&trigger.label());
    let written = apply::apply(&app.clients, budget, &plan.changes, &comment, &*app.env.progress).await;
    let cut = written.cut.is_some();
    failures.extend(written.cut);
    let second = retry::again(app, budget, trigger, scope, &candidates, &rules, &comment, written.outcomes).await;
    app.wrote(&second.outcomes);
    failures.extend(second.failures);
    // The clean-up of names nothing configures any more is done only once it all went through;
    // a change a guardrail refuses is a standing problem, tried again by name on every sweep, and
    // no reason to read the zones whole again.
    let went = |o: &Outcome| o.result.as_ref().err().is_none_or(|f| f.kind == FailureKind::Route53Guardrail);
    let complete = !cut && seen_all && second.outcomes.iter().all(went);
    if scope.full && complete && scope.whole_zones.iter().all(|z| read.readable.contains(z)) {
        app.swept();
    }
    let unchanged = unchanged + second.unchanged;
    Reconciled { note, outcomes: second.outcomes, unchanged, coverage, outside, ..Reconciled::failed(failures) }
}

/// The static groups' members that were described and that EC2 does not know (a mistyped id,
/// or one terminated long ago), for the answer's note: a group goes on with the others. (A
/// mapping's own instance EC2 does not know is a problem of its own: see [`desired::wanted`].)
fn unknown_instances(scope: &Scope<'_>, instances: &Instances, blind: &[(Place, Failure)]) -> Option<String> {
    let seen = |id: &InstanceId| instances.contains_key(id) || blind.iter().any(|(place, _)| *place == id.place());
    let mut ids: Vec<String> = scope
        .mappings
        .iter()
        .flat_map(|m| &m.members)
        .filter(|id| scope.ids.contains(id) && !seen(id))
        .map(ToString::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    (!ids.is_empty()).then(|| {
        format!(
            "EC2 does not know instance {}, which a static group in DDNS_RECORDS names: a mistyped id, or one terminated long ago",
            ids.join(", ")
        )
    })
}

/// Describes what the registry says a run must see before it can settle who holds its names
/// (see [`Registry::look_around`]): one DescribeInstances for the ids, and one paged one for
/// every tagged instance or for every group's members, each only when needed; then works the
/// wanted records out again over all it saw, for the names in play. A place that cannot be
/// described joins the blind ones.
async fn look_around(
    app: &App,
    budget: &Budget,
    scope: &Scope<'_>,
    registry: &Registry,
    instances: Instances,
    wanted: Wanted,
    mut blind: Vec<(Place, Failure)>,
) -> (Instances, Wanted, Vec<(Place, Failure)>) {
    let fleet = app.config.discovery.as_ref();
    let both_kinds = fleet.is_some_and(|d| d.tag_key.is_some() && d.group_key.is_some());
    let look =
        registry.look_around(&wanted.records, &scope.orphans, scope.all_tagged, fleet.is_some(), both_kinds, |i| {
            instances.contains_key(i)
        });
    if look.is_empty() {
        return (instances, wanted, blind);
    }
    let mut seen = instances;
    // An incumbent in a target that cannot be described makes that target blind, not the run failed.
    let incumbents = ec2::describe_each(&app.clients, budget, &look.ids, fleet).await;
    seen.extend(incumbents.instances);
    blind.extend(incumbents.blind);
    let mut more = Described::default();
    if let (true, Some(tags)) = (look.tagged, fleet) {
        more = ec2::describe_tagged(&app.clients, budget, tags).await;
    } else if let (true, Some(tags)) = (look.grouped, fleet) {
        more = ec2::describe_members(&app.clients, budget, tags).await;
    }
    for (id, instance) in more.instances {
        seen.entry(id).or_insert(instance);
    }
    blind.extend(more.blind);
    let wanted_now = desired::wanted(&app.config, &scope.mappings, &seen, &app.zones());
    let capped = wanted_now.capped.clone();
    let records = wanted_now.at(|z, n| look.names.binary_search(&(z.clone(), n.clone())).is_ok());
    (seen, Wanted { records, capped, ..wanted }, blind)
}

/// Where an invocation looked: the zones it read and, for a sweep, every configured zone it had
/// nothing to read in (`asked` says which it asked for), since nothing of ours is there that
/// could still be wrong.
fn coverage(app: &App, full: bool, mut read: Vec<ZoneId>, asked: impl Fn(&ZoneId) -> bool) -> Coverage {
    if full {
        read.extend(app.config.zones().into_iter().filter(|z| !asked(z)));
    }
    Coverage { full, described: true, read }
}

/// An event this function does not handle: logged, counted, and answered with an error.
fn rejected(app: &App, e: UnsupportedEvent) -> Error {
    error!(error = %e, "event rejected");
    let failure = Failure::new(FailureKind::UnsupportedEvent, "", e.to_string());
    metrics(app, &mut Answer { trigger: "rejected".into(), errors: vec![failure], ..Answer::default() });
    e.into()
}

/// Writes the invocation's metrics line (Lambda only): one per invocation, whatever it was, each
/// counting the webhook while it is unavailable.
fn metrics(app: &App, answer: &mut Answer) {
    answer.gauges.webhook_unavailable = usize::from(app.webhook_unavailable.is_some());
    if app.env.emit_metrics {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        println!("{}", answer.metrics_line(app.function_name(), now));
    }
}

async fn test_webhook(app: &App, budget: &Budget, account: Option<String>) -> Result<Answer, Error> {
    if let Some(why) = &app.webhook_unavailable {
        metrics(app, &mut Answer { trigger: "test-webhook".into(), ..Answer::default() });
        return Err(Error::Webhook(format!("the webhook is unavailable until a cold start reads a good value: {why}")));
    }
    let Some(notifier) = &app.notifier else {
        return Err(Error::Webhook(
            "no webhook is configured (set DDNS_WEBHOOK_URL or DDNS_WEBHOOK_URL_PARAMETER)".into(),
        ));
    };
    let alert = Alert::test(account, app.env.region.clone(), app.env.function.clone());
    let delivery = notifier.send(&alert, budget).await;
    info!(host = %delivery.host, status = ?delivery.status, attempts = delivery.attempts, "test webhook sent");
    let mut answer = Answer { trigger: "test-webhook".into(), webhook: Some(delivery.clone()), ..Answer::default() };
    metrics(app, &mut answer);
    match &delivery.error {
        None => Ok(answer),
        Some(err) => Err(Error::Webhook(format!("test webhook failed: {err}"))),
    }
}
