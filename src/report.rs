//! The typed answer of one invocation, built once at the end from what the stages returned, and
//! the lines it writes: one per change, one per error, the summary and the EMF metrics line.
//! Sends nothing; the notifier reads the answer to build its alert.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tracing::{error, info};

use crate::desired::Refusal;
use crate::event::Trigger;
use crate::failure::{Failure, FailureKind};
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
}

/// The safety valve's verdict, as a failure.
pub fn held_back(reason: String) -> Failure {
    Failure::new(FailureKind::SafetyValve, "", reason)
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
    pub errors: Vec<Failure>,
    pub aws_calls: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Delivery>,
}

impl Answer {
    /// Builds the answer from a reconcile's values. Markers are counted, not listed; a marker
    /// that failed is an error like any other.
    pub fn new(trigger: &Trigger, reconciled: Reconciled, aws_calls: usize) -> Self {
        let Reconciled { note, planned, outcomes, unchanged, failures } = reconciled;
        let mut answer = Self {
            trigger: trigger.label(),
            dry_run: trigger.dry_run(),
            unchanged,
            aws_calls,
            note,
            ..Self::default()
        };
        answer.errors = failures;
        for c in &planned {
            answer.count(c, ChangeStatus::Planned);
        }
        for o in outcomes {
            match o.result {
                Ok(()) => answer.count(&o.change, ChangeStatus::Applied),
                Err(f) => {
                    answer.count(&o.change, ChangeStatus::Failed);
                    answer.errors.push(f.at(format!("{} {}", o.change.name, o.change.rtype)));
                }
            }
        }
        answer
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

    /// The errors as one readable message for Lambda's errorMessage.
    pub fn error_summary(&self) -> String {
        let lines: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                let scope = if e.scope.is_empty() { String::new() } else { format!("{}: ", e.scope) };
                format!("{scope}{}: {}", e.kind, e.message)
            })
            .collect();
        format!("{} error(s) during {}: {}", self.errors.len(), self.trigger, lines.join("; "))
    }

    /// One line per change and per error, then the invocation's summary line.
    pub fn log(&self, duration: Duration) {
        for c in &self.changes {
            info!(name = %c.name, r#type = %c.rtype, action = ?c.action, old = ?c.old, new = ?c.new, instance = %c.instance_id, status = c.status.as_str(), "record change");
        }
        for e in &self.errors {
            error!(kind = %e.kind, scope = %e.scope, message = %e.message, "reconcile error");
        }
        info!(
            trigger = %self.trigger,
            dry_run = self.dry_run,
            changes = self.changes.len(),
            unchanged = self.unchanged,
            errors = self.errors.len(),
            aws_calls = self.aws_calls,
            duration_ms = duration.as_millis() as u64,
            outcome = if self.errors.is_empty() { "ok" } else { "failed" },
            "invocation finished"
        );
    }

    /// One CloudWatch Embedded Metric Format line; written to stdout, it costs no API call.
    pub fn metrics_line(&self, function: &str, timestamp_ms: u128) -> String {
        let metric = |name: &str| json!({ "Name": name, "Unit": "Count" });
        let webhook_failures = usize::from(self.webhook.as_ref().is_some_and(|d| !d.ok()));
        json!({
            "_aws": {
                "Timestamp": timestamp_ms as u64,
                "CloudWatchMetrics": [{
                    "Namespace": "DynamicDnsUpdater",
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [metric("RecordsChanged"), metric("RecordsInSync"), metric("Failures"), metric("WebhookFailures"), metric("AwsCalls")],
                }],
            },
            "FunctionName": function,
            "RecordsChanged": self.changes.iter().filter(|c| c.status == ChangeStatus::Applied).count(),
            "RecordsInSync": self.unchanged,
            "Failures": self.errors.len(),
            "WebhookFailures": webhook_failures,
            "AwsCalls": self.aws_calls,
        })
        .to_string()
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
        let scopes: Vec<&str> = a.errors.iter().map(|e| e.scope.as_str()).collect();
        assert_eq!(scopes, ["c.example.com A (i-12345678)", "b.example.com A", "_ddns-owner.b.example.com TXT"]);
        assert_eq!(a.effective_changes().len(), 1);
        assert_eq!((a.trigger.as_str(), a.dry_run, a.unchanged, a.aws_calls), ("schedule", false, 2, 5));
        let dry = Trigger::Manual { instance_ids: None, dry_run: true, force: false };
        let planned = Reconciled { planned: vec![change("a.example.com", RecordType::A)], ..Reconciled::default() };
        let a = Answer::new(&dry, planned, 2);
        assert_eq!((a.dry_run, a.changes[0].status), (true, ChangeStatus::Planned));
        assert_eq!(serde_json::to_value(&a).unwrap()["changes"][0]["status"], "planned");
    }

    #[test]
    fn metrics_line_is_emf() {
        let mut r = Answer { trigger: "schedule".into(), unchanged: 3, aws_calls: 2, ..Answer::default() };
        r.errors.push(Failure::new(FailureKind::Route53Denied, "Z1", "denied"));
        r.webhook = Some(Delivery { host: "h".into(), status: Some(500), attempts: 3, error: Some("500".into()) });
        let v: serde_json::Value = serde_json::from_str(&r.metrics_line("ddns", 1)).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "DynamicDnsUpdater");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 5);
        assert_eq!(v["RecordsInSync"], 3);
        assert_eq!(v["Failures"], 1);
        assert_eq!(v["WebhookFailures"], 1);
        assert_eq!(v["AwsCalls"], 2);
        assert!(r.error_summary().contains("Z1: Route53Denied: denied"));
    }
}
