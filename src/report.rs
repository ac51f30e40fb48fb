//! The typed answer of one invocation, built once at the end from what the stages returned, and
//! the lines it writes: one per change, one per error, the summary and the EMF metrics line.
//! Sends nothing; the notifier reads the answer to build its alert.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tracing::{error, info, warn};

use crate::desired::Refusal;
use crate::event::Trigger;
use crate::failure::{Failure, FailureKind};
use crate::incidents::Coverage;
use crate::plan::Conflict;
use crate::records::{Action, Change, Outcome, RecordData};

/// What became of one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    /// A dry run's change, not made.
    Planned,
    Applied,
    Failed,
}

impl ChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Applied => "applied",
            Self::Failed => "failed",
        }
    }
}

/// One record change as people and alerts see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeReport {
    pub zone_id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub action: Action,
    pub old: Option<String>,
    pub new: Option<String>,
    pub ttl: Option<u32>,
    #[serde(rename = "instance")]
    pub instance_id: String,
    pub status: ChangeStatus,
}

impl ChangeReport {
    pub fn new(c: &Change, status: ChangeStatus) -> Self {
        let show = |d: &Option<RecordData>| d.as_ref().map(|d| d.values.join(","));
        Self {
            zone_id: c.zone.to_string(),
            name: c.name.display(),
            rtype: c.rtype.to_string(),
            action: c.action,
            old: show(&c.old),
            new: show(&c.new),
            ttl: c.new.as_ref().or(c.old.as_ref()).map(|d| d.ttl),
            instance_id: c.instance.to_string(),
            status,
        }
    }
}

/// What became of the invocation's alert. Never holds the URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub host: String,
    pub status: Option<u16>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Delivery {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// What the stages of one reconcile returned, in the order they ran.
#[derive(Clone, Debug, Default)]
pub struct Reconciled {
    /// Why the invocation covered nothing, when it did not.
    pub note: Option<String>,
    /// A dry run's changes, not made.
    pub planned: Vec<Change>,
    pub outcomes: Vec<Outcome>,
    pub unchanged: usize,
    /// What went wrong before anything was written.
    pub failures: Vec<Failure>,
    pub coverage: Coverage,
    /// Tagged names in zones this deployment does not serve.
    pub outside: Vec<Refusal>,
}

impl Reconciled {
    pub fn noted(note: String) -> Self {
        Self { note: Some(note), ..Self::default() }
    }

    pub fn failed(failures: Vec<Failure>) -> Self {
        Self { failures, ..Self::default() }
    }
}

/// A refused tagged name, as a failure naming the instance and the name.
pub fn refused(r: &Refusal) -> Failure {
    Failure::new(FailureKind::Refused, format!("{} {}", r.instance, r.name), r.reason.clone())
}

/// A record the plan left alone, as a failure naming the record and its instance.
pub fn conflicted(c: &Conflict) -> Failure {
    Failure::new(FailureKind::Conflict, format!("{} {} ({})", c.name, c.rtype, c.instance), c.reason.clone())
        .in_zone(&c.zone)
}

/// The safety valve's verdict, as a failure.
pub fn held_back(reason: String) -> Failure {
    Failure::new(FailureKind::SafetyValve, "", reason)
}

/// The metrics of every invocation's EMF line, in the `DynamicDnsUpdater` namespace.
pub const METRICS: [&str; 10] = [
    "RecordsChanged",
    "RecordsInSync",
    "Failures",
    "Problems",
    "IncidentsOpen",
    "NamesOutsideZones",
    "IncidentStoreFailures",
    "WebhookFailures",
    "WebhookUnavailable",
    "AwsCalls",
];

/// The line a process that cannot start writes in Lambda: no webhook can be sent then, so this
/// metric (and the alarm on it) is what makes the failure seen.
pub fn startup_failure_line(function: &str, timestamp_ms: u128) -> String {
    emf_line(function, timestamp_ms, &[("StartupFailures", 1)])
}

/// One CloudWatch Embedded Metric Format line of counts, in the `DynamicDnsUpdater` namespace
/// with the `FunctionName` dimension; written to stdout, it costs no API call.
fn emf_line(function: &str, timestamp_ms: u128, counts: &[(&str, usize)]) -> String {
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": "DynamicDnsUpdater",
                "Dimensions": [["FunctionName"]],
                "Metrics": counts.iter().map(|(name, _)| json!({ "Name": name, "Unit": "Count" })).collect::<Vec<_>>(),
            }],
        },
        "FunctionName": function,
    });
    for (name, count) in counts {
        line[*name] = json!(count);
    }
    line.to_string()
}

/// Counts for the metrics line that the answer does not show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Problems open after this invocation, across invocations.
    pub incidents_open: usize,
    /// Tagged names in zones this deployment does not serve.
    pub outside_names: usize,
    /// Reads or writes of the incidents parameter that failed.
    pub store_failures: usize,
    /// 1 while the configured webhook could not be set up (its parameter unreadable, say).
    pub webhook_unavailable: usize,
}

/// The answer to one invocation: what the runtime serialises and the CLI prints.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Answer {
    pub trigger: String,
    pub dry_run: bool,
    pub changes: Vec<ChangeReport>,
    pub unchanged: usize,
    /// Ownership markers written or removed beside the changes (not listed among them).
    pub markers_changed: usize,
    /// What a retry could fix: throttling, server errors, timeouts.
    pub errors: Vec<Failure>,
    /// What needs a person: a record someone else owns, a refused name, a denial, a missing zone.
    pub problems: Vec<Failure>,
    pub aws_calls: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Delivery>,
    #[serde(skip)]
    pub gauges: Gauges,
}

impl Answer {
    /// Builds the answer from a reconcile's values. Markers are counted, not listed; a marker
    /// that failed is an error like any other.
    pub fn new(trigger: &Trigger, reconciled: Reconciled, aws_calls: usize) -> Self {
        let Reconciled { note, planned, outcomes, unchanged, failures, outside, .. } = reconciled;
        let (trigger, dry_run) = (trigger.label(), trigger.dry_run());
        let mut answer = Self { trigger, dry_run, unchanged, aws_calls, note, ..Self::default() };
        answer.gauges.outside_names = outside.len();
        let mut all = failures;
        for c in &planned {
            answer.count(c, ChangeStatus::Planned);
        }
        for o in outcomes {
            match o.result {
                Ok(()) => answer.count(&o.change, ChangeStatus::Applied),
                Err(f) => {
                    answer.count(&o.change, ChangeStatus::Failed);
                    // A guardrail's problem names the record it refused; the changes set aside
                    // with it (its marker) carry the same one, said once.
                    let f = match f.kind {
                        FailureKind::Route53Guardrail => f,
                        _ => f.at(format!("{} {}", o.change.name, o.change.rtype)),
                    };
                    let f = f.in_zone(&o.change.zone);
                    if !all.contains(&f) {
                        all.push(f);
                    }
                }
            }
        }
        (answer.errors, answer.problems) = all.into_iter().partition(|f| f.kind.is_transient());
        answer
    }

    /// Every error and problem, in the order they were met.
    pub fn failures(&self) -> Vec<Failure> {
        self.errors.iter().chain(&self.problems).cloned().collect()
    }

    /// Why the invocation fails, if it should: only when retrying the event could help. A
    /// sweep never asks for a retry, since the next one is a minute away.
    /// A release fails on anything left undone, so that whatever waits for it (Terraform's
    /// destroy) stops.
    pub fn failure(&self, trigger: &Trigger) -> Option<FailureKind> {
        if let Trigger::Release { .. } = trigger {
            return self.errors.first().or(self.problems.first()).map(|e| e.kind);
        }
        self.errors.first().filter(|_| trigger.asks_for_retry()).map(|e| e.kind)
    }

    fn count(&mut self, c: &Change, status: ChangeStatus) {
        match (c.is_marker(), status) {
            (true, ChangeStatus::Failed) => {}
            (true, _) => self.markers_changed += 1,
            (false, _) => self.changes.push(ChangeReport::new(c, status)),
        }
    }

    /// Changes that took effect (or would, in a dry run).
    pub fn effective_changes(&self) -> Vec<ChangeReport> {
        self.changes.iter().filter(|c| c.status != ChangeStatus::Failed).cloned().collect()
    }

    /// The errors, then the problems, as one readable message for Lambda's errorMessage.
    pub fn error_summary(&self) -> String {
        let line = |e: &Failure| format!("{}: {}", e.heading(), e.message);
        let problems: Vec<String> = self.problems.iter().map(line).collect();
        if self.errors.is_empty() {
            return format!("{} problem(s) during {}: {}", self.problems.len(), self.trigger, problems.join("; "));
        }
        let errors: Vec<String> = self.errors.iter().map(line).collect();
        let mut summary = format!("{} error(s) during {}: {}", self.errors.len(), self.trigger, errors.join("; "));
        if !self.problems.is_empty() {
            summary.push_str(&format!("; {} problem(s): {}", self.problems.len(), problems.join("; ")));
        }
        summary
    }

    /// One line per change, per error and per problem, then the invocation's summary line.
    pub fn log(&self, duration: Duration) {
        for c in &self.changes {
            info!(name = %c.name, r#type = %c.rtype, action = ?c.action, old = ?c.old, new = ?c.new, instance = %c.instance_id, status = c.status.as_str(), "record change");
        }
        for e in &self.errors {
            error!(kind = %e.kind, scope = %e.scope, message = %e.message, "reconcile error");
        }
        for p in &self.problems {
            warn!(kind = %p.kind, scope = %p.scope, message = %p.message, "problem");
        }
        info!(
            trigger = %self.trigger,
            dry_run = self.dry_run,
            changes = self.changes.len(),
            unchanged = self.unchanged,
            errors = self.errors.len(),
            problems = self.problems.len(),
            incidents_open = self.gauges.incidents_open,
            aws_calls = self.aws_calls,
            duration_ms = duration.as_millis() as u64,
            note = self.note.as_deref(),
            outcome = match (self.errors.is_empty(), self.problems.is_empty()) {
                (false, _) => "failed",
                (true, false) => "problems",
                (true, true) => "ok",
            },
            "invocation finished"
        );
    }

    /// The invocation's metrics line: every metric of [`METRICS`], in that order.
    pub fn metrics_line(&self, function: &str, timestamp_ms: u128) -> String {
        let webhook_failures = usize::from(self.webhook.as_ref().is_some_and(|d| !d.ok()));
        let applied = self.changes.iter().filter(|c| c.status == ChangeStatus::Applied).count();
        let counts = [
            ("RecordsChanged", applied),
            ("RecordsInSync", self.unchanged),
            ("Failures", self.errors.len()),
            ("Problems", self.problems.len()),
            ("IncidentsOpen", self.gauges.incidents_open),
            ("NamesOutsideZones", self.gauges.outside_names),
            ("IncidentStoreFailures", self.gauges.store_failures),
            ("WebhookFailures", webhook_failures),
            ("WebhookUnavailable", self.gauges.webhook_unavailable),
            ("AwsCalls", self.aws_calls),
        ];
        emf_line(function, timestamp_ms, &counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{InstanceId, RecordName, RecordType, ZoneId};

    fn change(name: &str, rtype: RecordType) -> Change {
        let name = RecordName::parse(name).unwrap();
        Change {
            zone: ZoneId::parse("Z1").unwrap(),
            name: if rtype == RecordType::TXT { name.marker() } else { name },
            rtype,
            action: Action::Create,
            old: None,
            new: Some(RecordData { ttl: 60, values: vec!["3.1.2.4".into()] }),
            instance: InstanceId::parse("i-12345678").unwrap(),
            origin: crate::records::Origin::Mapping,
        }
    }

    #[test]
    fn the_answer_lists_changes_counts_markers_and_keeps_failures_in_order() {
        let denied = Failure::new(FailureKind::Route53Denied, "", "AccessDenied");
        let reconciled = Reconciled {
            outcomes: vec![
                Outcome { change: change("a.example.com", RecordType::A), result: Ok(()) },
                Outcome { change: change("a.example.com", RecordType::TXT), result: Ok(()) },
                Outcome { change: change("b.example.com", RecordType::A), result: Err(denied.clone()) },
                Outcome { change: change("b.example.com", RecordType::TXT), result: Err(denied) },
            ],
            unchanged: 2,
            failures: vec![Failure::new(FailureKind::Conflict, "c.example.com A (i-12345678)", "owned by them")],
            ..Reconciled::default()
        };
        let a = Answer::new(&Trigger::Schedule, reconciled, 5);
        let shown: Vec<(&str, ChangeStatus)> = a.changes.iter().map(|c| (c.name.as_str(), c.status)).collect();
        assert_eq!(shown, [("a.example.com", ChangeStatus::Applied), ("b.example.com", ChangeStatus::Failed)]);
        assert_eq!(a.markers_changed, 1);
        let scopes: Vec<&str> = a.problems.iter().map(|e| e.scope.as_str()).collect();
        assert_eq!(scopes, ["c.example.com A (i-12345678)", "b.example.com A", "_ddns-owner.b.example.com TXT"]);
        assert!(a.errors.is_empty(), "a denial is no error a retry fixes");
        assert_eq!(a.problems[1].zone.as_ref().map(ZoneId::as_str), Some("Z1"), "a write failure knows its zone");
        assert_eq!(a.failure(&Trigger::Schedule), None);
        assert_eq!(a.effective_changes().len(), 1);
        assert_eq!((a.trigger.as_str(), a.dry_run, a.unchanged, a.aws_calls), ("schedule", false, 2, 5));
        let dry = Trigger::Manual { instance_ids: None, dry_run: true, force: false };
        let planned = Reconciled { planned: vec![change("a.example.com", RecordType::A)], ..Reconciled::default() };
        let a = Answer::new(&dry, planned, 2);
        assert_eq!((a.dry_run, a.changes[0].status), (true, ChangeStatus::Planned));
        assert_eq!(serde_json::to_value(&a).unwrap()["changes"][0]["status"], "planned");
    }

    #[test]
    fn only_errors_a_retry_could_fix_fail_an_event_and_a_sweep_never_fails() {
        let throttled = Failure::new(FailureKind::Route53Throttled, "Z1", "slow down");
        let reconciled = Reconciled { failures: vec![throttled], ..Reconciled::default() };
        let event = Trigger::StateChange {
            instance: InstanceId::parse("i-12345678").unwrap(),
            state: crate::instance::InstanceState::Running,
        };
        assert_eq!(Answer::new(&event, reconciled.clone(), 1).failure(&event), Some(FailureKind::Route53Throttled));
        assert_eq!(Answer::new(&Trigger::Schedule, reconciled, 1).failure(&Trigger::Schedule), None);
    }

    #[test]
    fn metrics_line_is_emf() {
        let mut r = Answer { trigger: "schedule".into(), unchanged: 3, aws_calls: 2, ..Answer::default() };
        r.errors.push(Failure::new(FailureKind::Route53Throttled, "Z1", "slow down"));
        r.problems.push(Failure::new(FailureKind::Route53Denied, "Z1", "denied"));
        r.webhook = Some(Delivery { host: "h".into(), status: Some(500), attempts: 3, error: Some("500".into()) });
        r.gauges = Gauges { incidents_open: 4, outside_names: 2, store_failures: 1, webhook_unavailable: 1 };
        let v: serde_json::Value = serde_json::from_str(&r.metrics_line("ddns", 1)).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "DynamicDnsUpdater");
        let names: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        // Pinned: alarms and dashboards name these metrics.
        let pinned = [
            "RecordsChanged",
            "RecordsInSync",
            "Failures",
            "Problems",
            "IncidentsOpen",
            "NamesOutsideZones",
            "IncidentStoreFailures",
            "WebhookFailures",
            "WebhookUnavailable",
            "AwsCalls",
        ];
        assert_eq!(names, pinned);
        assert_eq!(METRICS, pinned);
        for (metric, want) in [
            ("RecordsInSync", 3),
            ("Failures", 1),
            ("Problems", 1),
            ("IncidentsOpen", 4),
            ("NamesOutsideZones", 2),
            ("IncidentStoreFailures", 1),
            ("WebhookFailures", 1),
            ("WebhookUnavailable", 1),
            ("AwsCalls", 2),
        ] {
            assert_eq!(v[metric], want, "{metric}");
        }
        assert!(r.error_summary().contains("Z1: Route53Throttled: slow down; 1 problem(s): Z1: Route53Denied: denied"));
        let start: serde_json::Value = serde_json::from_str(&startup_failure_line("ddns", 1)).unwrap();
        assert_eq!((start["StartupFailures"].clone(), start["FunctionName"].clone()), (1.into(), "ddns".into()));
    }
}
