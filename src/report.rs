//! What an invocation did: the JSON response, the log lines, and the EMF metrics line.
//! Builds from the plan and the apply outcomes; sends nothing itself.

use serde::Serialize;
use serde_json::json;

use crate::apply::Outcome;
use crate::edge::Failure;
use crate::names::RecordType;
use crate::notify::Delivery;
use crate::plan::{Action, Change, RecordData};

/// Progress lines for long runs, on a terminal only; silent in Lambda and when piped.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub enabled: bool,
}

impl Progress {
    /// Shows on the terminal's current line, replacing what was there.
    pub fn say(&self, message: impl std::fmt::Display) {
        if self.enabled {
            eprint!("\r\x1b[2K{message}");
        }
    }

    /// Clears the progress line.
    pub fn done(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
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
    /// planned (dry run), applied, or failed.
    pub status: &'static str,
}

impl ChangeReport {
    pub fn new(c: &Change, status: &'static str) -> Self {
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

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
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

impl Report {
    pub fn new(trigger: String, dry_run: bool) -> Self {
        Self { trigger, dry_run, ..Self::default() }
    }

    /// Records a dry run's changes as planned.
    pub fn add_planned(&mut self, changes: &[Change]) {
        for c in changes {
            if c.rtype == RecordType::TXT {
                self.markers_changed += 1;
            } else {
                self.changes.push(ChangeReport::new(c, "planned"));
            }
        }
    }

    /// Records the outcome of applied changes: successes as changes, failures as both.
    /// Markers are counted, not listed; a marker that failed is an error like any other.
    pub fn add_outcomes(&mut self, outcomes: Vec<Outcome>) {
        for o in outcomes {
            let marker = o.change.rtype == RecordType::TXT;
            match o.result {
                Ok(()) if marker => self.markers_changed += 1,
                Ok(()) => self.changes.push(ChangeReport::new(&o.change, "applied")),
                Err(f) => {
                    if !marker {
                        self.changes.push(ChangeReport::new(&o.change, "failed"));
                    }
                    let scope = format!("{} {}", o.change.name, o.change.rtype);
                    self.errors.push(f.at(scope));
                }
            }
        }
    }

    /// Changes that took effect (or would, in a dry run).
    pub fn effective_changes(&self) -> Vec<ChangeReport> {
        self.changes.iter().filter(|c| c.status != "failed").cloned().collect()
    }

    /// The errors as one readable message for Lambda's errorMessage.
    pub fn error_summary(&self) -> String {
        let lines: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{}{:?}: {}",
                    if e.scope.is_empty() { String::new() } else { format!("{}: ", e.scope) },
                    e.kind,
                    e.message
                )
            })
            .collect();
        format!("{} error(s) during {}: {}", self.errors.len(), self.trigger, lines.join("; "))
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
            "RecordsChanged": self.changes.iter().filter(|c| c.status == "applied").count(),
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
    use crate::edge::FailureKind;

    #[test]
    fn metrics_line_is_emf() {
        let mut r = Report::new("schedule".into(), false);
        r.unchanged = 3;
        r.aws_calls = 2;
        r.errors.push(Failure { kind: FailureKind::Route53Denied, scope: "Z1".into(), message: "denied".into() });
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
