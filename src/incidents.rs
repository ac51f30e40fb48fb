//! Open problems across invocations: which are new, which are due a reminder, which cleared.
//! A problem's identity is its kind and what it concerns, never its message. The open set lives
//! in memory and, compactly, in an SSM parameter, so that a new execution environment does not
//! alert again about what an earlier one already did. Pure: the caller reads and writes the
//! parameter and sends the alert.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::failure::Failure;
use crate::names::ZoneId;

/// The version of the stored form this build writes and reads.
pub const VERSION: u64 = 1;
/// What SSM's standard tier holds.
pub const MAX_STORED: usize = 4096;
/// A label is cut to this many characters in the store.
const LABEL_CHARS: usize = 100;

/// One open problem, as remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its kind and what it concerns, for the alert that says it cleared.
    pub label: String,
    /// The zone it was seen in; `None` when it came from EC2's answer or the plan as a whole.
    pub zone: Option<String>,
    /// When it was first seen (Unix seconds).
    pub since: u64,
    /// When an alert about it last went out; `None` while none has.
    pub alerted: Option<u64>,
    /// Gone, but the alert that says so has not gone out yet.
    pub cleared: bool,
}

/// Problems the store had no room for, remembered as a count: "and N more".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    pub count: usize,
    pub since: u64,
    pub alerted: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incidents {
    open: BTreeMap<String, Entry>,
    folded: Option<Folded>,
}

/// How much of the estate an invocation looked at: where a problem it did not meet again may
/// have cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// It covered every record (a sweep).
    pub full: bool,
    /// EC2's answer was read.
    pub described: bool,
    /// The zones that were read.
    pub read: Vec<ZoneId>,
}

/// What the invocation's alert says about incidents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alerting {
    /// Problems seen for the first time (or not yet alerted).
    pub new: Vec<Failure>,
    /// Problems still open whose last alert is older than the reminder interval.
    pub reminders: Vec<Failure>,
    /// Labels of the problems that cleared.
    pub recovered: Vec<String>,
}

impl Alerting {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.reminders.is_empty() && self.recovered.is_empty()
    }
}

/// The outcome of one observation: the state to keep once its alert is out, and the alert.
#[derive(Clone, Debug)]
pub struct Step {
    next: Incidents,
    due: Vec<String>,
    /// The folded problems cleared too.
    unfolded: bool,
    pub alerting: Alerting,
}

impl Step {
    /// The state to keep when the alert was delivered (or there is no channel to deliver to).
    pub fn delivered(mut self, now: u64) -> Incidents {
        for id in &self.due {
            if let Some(e) = self.next.open.get_mut(id) {
                e.alerted = Some(now);
            }
        }
        self.next.open.retain(|_, e| !e.cleared);
        if self.unfolded {
            self.next.folded = None;
        }
        self.next
    }

    /// The state to keep when the alert could not be delivered: the next one tries again.
    pub fn undelivered(self) -> Incidents {
        self.next
    }
}

/// A problem's identity: its kind and what it concerns.
pub fn fingerprint(f: &Failure) -> String {
    let digest = Sha256::digest(format!("{}|{}", f.kind, f.scope));
    hex::encode(&digest[..6])
}

/// How a problem is named once it has cleared.
pub fn label(f: &Failure) -> String {
    let text = if f.scope.is_empty() { f.kind.to_string() } else { format!("{}: {}", f.kind, f.scope) };
    text.chars().take(LABEL_CHARS).collect()
}

impl Incidents {
    /// Nothing is open, nor folded away.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.folded.is_none()
    }

    /// How many problems are open (cleared ones whose notice is pending included).
    pub fn open(&self) -> usize {
        self.open.values().filter(|e| !e.cleared).count() + self.folded.as_ref().map_or(0, |f| f.count)
    }

    /// Compares the `problems` (and errors) an invocation met with what is open. A problem not
    /// met again clears only when the invocation looked where it was: a full sweep that read its
    /// zone (or EC2, for the rest).
    pub fn observe(&self, problems: &[Failure], seen: &Coverage, now: u64, repeat: Option<Duration>) -> Step {
        let mut next = self.clone();
        let (mut alerting, mut due, mut met) = (Alerting::default(), Vec::new(), HashSet::new());
        // Unknown problems stand for those folded into "and N more" before a cold start.
        let mut folded_left = next.folded.as_ref().map_or(0, |f| f.count);
        for p in problems {
            let id = fingerprint(p);
            if !met.insert(id.clone()) {
                continue;
            }
            match next.open.get_mut(&id) {
                Some(e) => {
                    e.cleared = false;
                    let reminder =
                        e.alerted.zip(repeat).is_some_and(|(at, every)| now.saturating_sub(at) >= every.as_secs());
                    if e.alerted.is_none() || reminder {
                        due.push(id);
                        if reminder { alerting.reminders.push(p.clone()) } else { alerting.new.push(p.clone()) }
                    }
                }
                None => {
                    let folded = next.folded.as_ref().filter(|_| folded_left > 0);
                    let (since, alerted) = folded.map_or((now, None), |f| (f.since, f.alerted));
                    if folded.is_some() {
                        folded_left -= 1;
                    } else {
                        due.push(id.clone());
                        alerting.new.push(p.clone());
                    }
                    let zone = p.zone.as_ref().map(ToString::to_string);
                    next.open.insert(id, Entry { label: label(p), zone, since, alerted, cleared: false });
                }
            }
        }
        let looked = |zone: &Option<String>| {
            seen.full && zone.as_ref().map_or(seen.described, |z| seen.read.iter().any(|r| r.as_str() == z))
        };
        // Gone where the invocation looked: one never alerted goes quietly, the rest say so.
        next.open.retain(|id, e| {
            if met.contains(id) || !(e.cleared || looked(&e.zone)) {
                return true;
            }
            if e.alerted.is_none() {
                return false;
            }
            e.cleared = true;
            alerting.recovered.push(e.label.clone());
            true
        });
        if let Some(f) = &mut next.folded {
            f.count = folded_left;
        }
        next.folded = next.folded.filter(|f| f.count > 0);
        let unfolded = next.folded.is_some() && seen.full && seen.described;
        if let Some(f) = next.folded.as_ref().filter(|_| unfolded) {
            alerting.recovered.push(format!("and {} more", f.count));
        }
        Step { next, due, unfolded, alerting }
    }

    /// The stored form: compact JSON within [`MAX_STORED`], the problems that do not fit
    /// folded into one "and N more".
    pub fn store(&self) -> String {
        let mut entries: Vec<(&String, &Entry)> = self.open.iter().collect();
        entries.sort_by_key(|(id, e)| (e.since, *id));
        let mut folded = self.folded.clone();
        loop {
            let open: Vec<Value> = entries
                .iter()
                .map(|(id, e)| json!([id, e.since, e.alerted, e.label, e.zone, u8::from(e.cleared)]))
                .collect();
            let more = folded.as_ref().map(|f| json!([f.count, f.since, f.alerted]));
            let text = json!({ "v": VERSION, "open": open, "more": more }).to_string();
            let Some((_, last)) = entries.last().filter(|_| text.len() > MAX_STORED) else { return text };
            let f = folded.get_or_insert(Folded { count: 0, since: last.since, alerted: last.alerted });
            f.count += 1;
            f.since = f.since.min(last.since);
            f.alerted = f.alerted.zip(last.alerted).map(|(a, b)| a.max(b));
            entries.pop();
        }
    }

    /// Reads the stored form; an error says why it cannot be used (hand-edited, say, or written
    /// by a newer version).
    pub fn load(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        match v.get("v").and_then(Value::as_u64) {
            Some(VERSION) => {}
            Some(other) => return Err(format!("written in version {other} of the format; this build reads {VERSION}")),
            None => return Err("no format version".into()),
        }
        let bad = |what: &str| format!("a malformed {what}");
        let mut open = BTreeMap::new();
        for item in v.get("open").and_then(Value::as_array).ok_or_else(|| bad("list of incidents"))? {
            let field = |i: usize| item.get(i).filter(|f| !f.is_null());
            let id = field(0).and_then(Value::as_str).ok_or_else(|| bad("incident"))?;
            let entry = Entry {
                since: field(1).and_then(Value::as_u64).ok_or_else(|| bad("incident"))?,
                alerted: field(2).map(|a| a.as_u64().ok_or_else(|| bad("incident"))).transpose()?,
                label: field(3).and_then(Value::as_str).ok_or_else(|| bad("incident"))?.to_string(),
                zone: field(4).and_then(Value::as_str).map(str::to_string),
                cleared: field(5).and_then(Value::as_u64) == Some(1),
            };
            open.insert(id.to_string(), entry);
        }
        let folded = match v.get("more").filter(|m| !m.is_null()) {
            None => None,
            Some(m) => Some(Folded {
                count: m.get(0).and_then(Value::as_u64).ok_or_else(|| bad("count of folded incidents"))? as usize,
                since: m.get(1).and_then(Value::as_u64).ok_or_else(|| bad("count of folded incidents"))?,
                alerted: m.get(2).and_then(Value::as_u64),
            }),
        };
        Ok(Self { open, folded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;

    const HOUR: u64 = 3600;

    fn conflict(name: &str) -> Failure {
        Failure::new(FailureKind::Conflict, format!("{name} A (i-12345678)"), "owned by someone else")
            .in_zone(&ZoneId::parse("Z1").unwrap())
    }
    fn zones() -> Vec<ZoneId> {
        vec![ZoneId::parse("Z1").unwrap()]
    }
    fn sweep(read: &[ZoneId]) -> Coverage {
        Coverage { full: true, described: true, read: read.to_vec() }
    }
    fn labels(f: &[Failure]) -> Vec<String> {
        f.iter().map(label).collect()
    }

    #[test]
    fn a_problem_alerts_once_reminds_after_the_interval_and_says_when_it_clears() {
        let (zones, taken) = (zones(), [conflict("taken.example.com")]);
        let repeat = Some(Duration::from_secs(6 * HOUR));
        let first = Incidents::default().observe(&taken, &sweep(&zones), 0, repeat);
        assert_eq!(labels(&first.alerting.new), ["Conflict: taken.example.com A (i-12345678)"]);
        let mut state = first.delivered(0);
        for minute in 1..5 {
            let step = state.observe(&taken, &sweep(&zones), minute * 60, repeat);
            assert!(step.alerting.is_empty(), "minute {minute}: {:?}", step.alerting);
            state = step.delivered(minute * 60);
        }
        let later = state.observe(&taken, &sweep(&zones), 6 * HOUR, repeat);
        assert_eq!(labels(&later.alerting.reminders), ["Conflict: taken.example.com A (i-12345678)"]);
        let state = later.delivered(6 * HOUR);
        assert!(state.observe(&taken, &sweep(&zones), 7 * HOUR, repeat).alerting.is_empty(), "reminded: quiet again");
        assert!(state.observe(&taken, &sweep(&zones), 99 * HOUR, None).alerting.is_empty(), "no reminders at 0");
        let fixed = state.observe(&[], &sweep(&zones), 8 * HOUR, repeat);
        assert_eq!(fixed.alerting.recovered, ["Conflict: taken.example.com A (i-12345678)"]);
        let state = fixed.delivered(8 * HOUR);
        assert_eq!(state.open(), 0);
        assert!(state.observe(&[], &sweep(&zones), 9 * HOUR, repeat).alerting.is_empty(), "recovered once");
    }

    #[test]
    fn a_problem_clears_only_where_the_invocation_looked() {
        let (zones, taken) = (zones(), [conflict("taken.example.com")]);
        let state = Incidents::default().observe(&taken, &sweep(&zones), 0, None).delivered(0);
        let event = Coverage { full: false, described: true, read: zones.clone() };
        assert!(state.observe(&[], &event, 60, None).alerting.recovered.is_empty(), "an event covers one instance");
        let unread = Coverage { full: true, described: true, read: Vec::new() };
        assert!(state.observe(&[], &unread, 60, None).alerting.recovered.is_empty(), "its zone was not read");
        let ec2 = [Failure::new(FailureKind::Ec2Denied, "ec2", "denied")];
        let blind = Coverage { full: true, described: false, read: Vec::new() };
        let step = state.observe(&ec2, &blind, 60, None);
        assert!(step.alerting.recovered.is_empty(), "nothing was read: nothing clears");
        assert_eq!(labels(&step.alerting.new), ["Ec2Denied: ec2"]);
        let state = step.delivered(60);
        assert_eq!(state.open(), 2);
        assert_eq!(state.observe(&[], &sweep(&zones), 120, None).alerting.recovered.len(), 2);
    }

    #[test]
    fn an_undelivered_alert_is_tried_again_and_the_message_is_not_the_identity() {
        let zones = zones();
        let first = Incidents::default().observe(&[conflict("a.example.com")], &sweep(&zones), 0, None);
        let state = first.undelivered();
        let mut reworded = conflict("a.example.com");
        reworded.message = "RequestId 42".into();
        let again = state.observe(&[reworded], &sweep(&zones), 60, None);
        assert_eq!(again.alerting.new.len(), 1, "not yet delivered: still new");
        let state = again.delivered(60);
        let gone = state.observe(&[], &sweep(&zones), 120, None);
        assert_eq!(gone.alerting.recovered.len(), 1);
        let state = gone.undelivered();
        assert_eq!(state.observe(&[], &sweep(&zones), 180, None).alerting.recovered.len(), 1, "the notice is retried");
    }

    #[test]
    fn the_store_round_trips_and_folds_what_does_not_fit() {
        let zones = zones();
        let many: Vec<Failure> = (0..200).map(|i| conflict(&format!("host-{i:03}.example.com"))).collect();
        let state = Incidents::default().observe(&many, &sweep(&zones), 0, None).delivered(0);
        let stored = state.store();
        assert!(stored.len() <= MAX_STORED, "{}", stored.len());
        let loaded = Incidents::load(&stored).unwrap();
        assert_eq!(loaded.open(), 200, "every problem is accounted for");
        assert!(loaded.folded.as_ref().is_some_and(|f| f.count > 100), "{:?}", loaded.folded);
        // After a cold start, the same problems are not news.
        let step = loaded.observe(&many, &sweep(&zones), 60, None);
        assert!(step.alerting.is_empty(), "{:?}", step.alerting.new.len());
        // And when they clear, one notice names the kept ones and counts the rest.
        let cleared = Incidents::load(&stored).unwrap().observe(&[], &sweep(&zones), 60, None);
        assert!(
            cleared.alerting.recovered.last().unwrap().starts_with("and "),
            "{:?}",
            cleared.alerting.recovered.last()
        );
        assert_eq!(cleared.delivered(60).open(), 0);
        let small = Incidents::default().observe(&many[..2], &sweep(&zones), 0, None).delivered(0);
        assert_eq!(Incidents::load(&small.store()).unwrap(), small);
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        for (text, why) in [
            ("", "not JSON"),
            ("{\"open\": []}", "no format version"),
            ("{\"v\": 2, \"open\": []}", "version 2"),
            ("{\"v\": 1, \"open\": [[1]]}", "malformed incident"),
            ("{\"v\": 1}", "malformed list"),
        ] {
            let err = Incidents::load(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        assert_eq!(Incidents::load("{\"v\": 1, \"open\": []}").unwrap(), Incidents::default());
    }
}
