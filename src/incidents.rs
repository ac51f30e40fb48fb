//! Open problems across invocations: which are new, which are due a reminder, which cleared.
//! A problem's identity is its kind and what it concerns, never its message. An error a retry
//! could fix alerts only once it has lasted DDNS_ALERT_AFTER; any incident is said to have
//! cleared only once it has stayed clear that long, and one that comes back within
//! DDNS_ALERT_REPEAT of its last alert reopens quietly. The open set lives in memory and,
//! compactly, in an SSM parameter, so that other execution environments do not alert again about
//! what one already did. Pure: the caller reads and writes the parameter and sends the alert.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::failure::{Failure, FailureKind};
use crate::names::ZoneId;

/// The version of the stored form this build writes; it reads version 1 too.
pub const VERSION: u64 = 2;
/// What SSM's standard tier holds.
pub const MAX_STORED: usize = 4096;
/// A label is cut to this many characters in the store.
const LABEL_CHARS: usize = 100;

/// When alerts go out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long an error a retry could fix must last before it alerts, and how long any
    /// incident must stay clear before its recovery is said (DDNS_ALERT_AFTER).
    pub after: Duration,
    /// How often an open incident is alerted again, and how long after its last alert one that
    /// cleared reopens quietly when it comes back; `None`: no reminders, and a return is new
    /// (DDNS_ALERT_REPEAT).
    pub repeat: Option<Duration>,
}

impl Timing {
    /// Alert at once, recover at once, never remind: how incidents behaved before
    /// DDNS_ALERT_AFTER.
    pub const AT_ONCE: Timing = Timing { after: Duration::ZERO, repeat: None };
}

/// Where an incident stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Met, or gone for less than DDNS_ALERT_AFTER.
    Open,
    /// Stayed clear long enough: its dns.recovered is due, and tried again until delivered.
    Cleared,
    /// Over, said so (or quietly, after a quiet reopening); remembered while a return would
    /// reopen it quietly.
    Closed,
}

/// One problem, as remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its kind and what it concerns, for the alert that says it cleared.
    pub label: String,
    /// The zone it was seen in; `None` when it came from EC2's answer or the plan as a whole.
    pub zone: Option<String>,
    /// A retry could fix it: it alerts only once it has lasted DDNS_ALERT_AFTER.
    pub transient: bool,
    /// When it was first met (Unix seconds).
    pub since: u64,
    /// When it was last met. Kept in memory as it moves; stored only beside another change, so
    /// that a problem that stays costs no write.
    pub seen: u64,
    /// When an alert about it (new or reminder) last went out; `None` while none has.
    pub alerted: Option<u64>,
    /// When it was last said (or quietly taken) to have cleared.
    pub recovered: Option<u64>,
    pub state: State,
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
    /// Problems alerted for the first time (or not yet delivered).
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
    repeat: Option<Duration>,
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
        for e in self.next.open.values_mut().filter(|e| e.state == State::Cleared) {
            e.state = State::Closed;
            e.recovered = Some(now);
        }
        self.next.open.retain(|_, e| e.state != State::Closed || may_reopen(e, now, self.repeat));
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

/// Whether a closed incident that came back now would reopen quietly: within the repeat
/// interval of its last alert.
fn may_reopen(e: &Entry, now: u64, repeat: Option<Duration>) -> bool {
    e.alerted.zip(repeat).is_some_and(|(at, every)| now < at.saturating_add(every.as_secs()))
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
    /// Nothing is remembered, nor folded away.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.folded.is_none()
    }

    /// How many problems are open: alerted, or due to be. Errors that have not lasted long
    /// enough to alert, and incidents that cleared, are not counted.
    pub fn open(&self) -> usize {
        let open = self.open.values().filter(|e| e.state == State::Open && (e.alerted.is_some() || !e.transient));
        open.count() + self.folded.as_ref().map_or(0, |f| f.count)
    }

    /// Compares the `problems` (and errors) an invocation met at `now` with what is known. A
    /// problem not met again clears only where the invocation looked (a full sweep that read its
    /// zone, or EC2, for the rest) and only once it has not been met for `timing.after`.
    pub fn observe(&self, problems: &[Failure], seen: &Coverage, now: u64, timing: Timing) -> Step {
        let after = timing.after.as_secs();
        let mut next = self.clone();
        // A closed incident is remembered only while its return would reopen it quietly.
        next.open.retain(|_, e| e.state != State::Closed || may_reopen(e, now, timing.repeat));
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
                    // Back within the repeat interval of its last alert: reopened, quietly.
                    e.state = State::Open;
                    e.seen = now;
                    let lasted = !e.transient || now.saturating_sub(e.since) >= after;
                    let reminder = e
                        .alerted
                        .zip(timing.repeat)
                        .is_some_and(|(at, every)| now.saturating_sub(at) >= every.as_secs());
                    if e.alerted.is_none() && lasted {
                        due.push(id);
                        alerting.new.push(p.clone());
                    } else if reminder {
                        due.push(id);
                        alerting.reminders.push(p.clone());
                    }
                }
                None => {
                    let folded = next.folded.as_ref().filter(|_| folded_left > 0);
                    let (since, alerted) = folded.map_or((now, None), |f| (f.since, f.alerted));
                    let transient = p.kind.is_transient();
                    if folded.is_some() {
                        folded_left -= 1;
                    } else if !transient || after == 0 {
                        due.push(id.clone());
                        alerting.new.push(p.clone());
                    }
                    let zone = p.zone.as_ref().map(ToString::to_string);
                    let entry = Entry {
                        label: label(p),
                        zone,
                        transient,
                        since,
                        seen: now,
                        alerted,
                        recovered: None,
                        state: State::Open,
                    };
                    next.open.insert(id, entry);
                }
            }
        }
        let looked = |zone: &Option<String>| {
            seen.full && zone.as_ref().map_or(seen.described, |z| seen.read.iter().any(|r| r.as_str() == z))
        };
        next.open.retain(|id, e| {
            if met.contains(id) {
                return true;
            }
            match e.state {
                State::Closed => true,
                State::Cleared => {
                    alerting.recovered.push(e.label.clone());
                    true
                }
                State::Open if !looked(&e.zone) || now.saturating_sub(e.seen) < after => true,
                // Stayed clear: one never alerted goes quietly, one whose recovery was said
                // since its last alert closes quietly, the rest say so.
                State::Open => match e.alerted {
                    None => false,
                    Some(at) if e.recovered.is_some_and(|r| r >= at) => {
                        e.state = State::Closed;
                        e.recovered = Some(now);
                        true
                    }
                    Some(_) => {
                        e.state = State::Cleared;
                        alerting.recovered.push(e.label.clone());
                        true
                    }
                },
            }
        });
        if let Some(f) = &mut next.folded {
            f.count = folded_left;
        }
        next.folded = next.folded.filter(|f| f.count > 0);
        let unfolded = next.folded.is_some() && seen.full && seen.described;
        if let Some(f) = next.folded.as_ref().filter(|_| unfolded) {
            alerting.recovered.push(format!("and {} more", f.count));
        }
        Step { next, due, unfolded, repeat: timing.repeat, alerting }
    }

    /// What this environment knows joined with what another one stored: the latest alert and
    /// recovery of each incident win, so that what was sent elsewhere is not sent again. An
    /// incident is closed when a side closed it at its latest recovery and nobody met it since.
    pub fn merge(&self, theirs: &Incidents) -> Incidents {
        let mut out = self.clone();
        for (id, t) in &theirs.open {
            let Some(o) = out.open.get_mut(id) else {
                out.open.insert(id.clone(), t.clone());
                continue;
            };
            let (alerted, recovered) = (o.alerted.max(t.alerted), o.recovered.max(t.recovered));
            let seen = o.seen.max(t.seen);
            let said = |e: &Entry| e.state == State::Closed && e.recovered == recovered;
            let closed = recovered.is_some_and(|r| Some(r) >= alerted && seen <= r) && (said(o) || said(t));
            o.state = if closed { State::Closed } else { State::Open };
            (o.since, o.seen, o.alerted, o.recovered) = (o.since.min(t.since), seen, alerted, recovered);
        }
        out.folded = match (out.folded.take(), theirs.folded.clone()) {
            (Some(a), Some(b)) => Some(if a.count >= b.count { a } else { b }),
            (a, b) => a.or(b),
        };
        out
    }

    /// Whether `stored` (the parameter's text) holds what this state would store, the time each
    /// incident was last met aside: such a difference alone is not worth a write.
    pub fn same_as_stored(&self, stored: Option<&str>) -> bool {
        let settled = |i: &Incidents| {
            let mut i = i.clone();
            i.open.values_mut().for_each(|e| e.seen = 0);
            i
        };
        match stored {
            None => self.is_empty(),
            Some(text) => Incidents::load(text).is_ok_and(|s| settled(&s) == settled(self)),
        }
    }

    /// The stored form: compact JSON within [`MAX_STORED`], the problems that do not fit
    /// folded into one "and N more". Each incident is
    /// `[id, since, seen, alerted, recovered, label, zone, flags]`; `flags` is 1 for an error a
    /// retry could fix, plus 2 when cleared (its notice pending), 4 when closed.
    pub fn store(&self) -> String {
        let mut entries: Vec<(&String, &Entry)> = self.open.iter().collect();
        entries.sort_by_key(|(id, e)| (e.since, *id));
        let mut folded = self.folded.clone();
        loop {
            let open: Vec<Value> = entries
                .iter()
                .map(|(id, e)| {
                    let state = match e.state {
                        State::Open => 0,
                        State::Cleared => 2,
                        State::Closed => 4,
                    };
                    let flags = u8::from(e.transient) | state;
                    json!([id, e.since, e.seen, e.alerted, e.recovered, e.label, e.zone, flags])
                })
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

    /// Reads the stored form, this version's or version 1's; an error says why it cannot be used
    /// (hand-edited, say, or written by a newer version).
    pub fn load(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let version = match v.get("v").and_then(Value::as_u64) {
            Some(n @ (1 | VERSION)) => n,
            Some(other) => {
                return Err(format!("written in version {other} of the format; this build reads 1 to {VERSION}"));
            }
            None => return Err("no format version".into()),
        };
        let bad = |what: &str| format!("a malformed {what}");
        let mut open = BTreeMap::new();
        for item in v.get("open").and_then(Value::as_array).ok_or_else(|| bad("list of incidents"))? {
            let field = |i: usize| item.get(i).filter(|f| !f.is_null());
            let number = |i: usize| field(i).and_then(Value::as_u64).ok_or_else(|| bad("incident"));
            let maybe = |i: usize| field(i).map(|a| a.as_u64().ok_or_else(|| bad("incident"))).transpose();
            let text = |i: usize| field(i).and_then(Value::as_str).map(str::to_string);
            let id = text(0).ok_or_else(|| bad("incident"))?;
            let entry = if version == 1 {
                // [id, since, alerted, label, zone, cleared]
                let label = text(3).ok_or_else(|| bad("incident"))?;
                let since = number(1)?;
                let cleared = field(5).and_then(Value::as_u64) == Some(1);
                Entry {
                    transient: transient_label(&label),
                    label,
                    zone: text(4),
                    since,
                    seen: since,
                    alerted: maybe(2)?,
                    recovered: None,
                    state: if cleared { State::Cleared } else { State::Open },
                }
            } else {
                let flags = number(7)?;
                Entry {
                    label: text(5).ok_or_else(|| bad("incident"))?,
                    zone: text(6),
                    transient: flags & 1 == 1,
                    since: number(1)?,
                    seen: number(2)?,
                    alerted: maybe(3)?,
                    recovered: maybe(4)?,
                    state: match flags & 6 {
                        0 => State::Open,
                        2 => State::Cleared,
                        4 => State::Closed,
                        _ => return Err(bad("incident")),
                    },
                }
            };
            open.insert(id, entry);
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

/// Whether a label (`Kind: scope`) names an error a retry could fix: version 1 kept no flag.
fn transient_label(label: &str) -> bool {
    let kind = label.split(':').next().unwrap_or_default();
    FailureKind::ALL.iter().any(|k| k.error_type() == kind && k.is_transient())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60;
    const HOUR: u64 = 3600;

    fn conflict(name: &str) -> Failure {
        Failure::new(FailureKind::Conflict, format!("{name} A (i-12345678)"), "owned by someone else")
            .in_zone(&ZoneId::parse("Z1").unwrap())
    }
    fn throttled() -> Failure {
        Failure::new(FailureKind::Route53Throttled, "Z1", "Rate exceeded").in_zone(&ZoneId::parse("Z1").unwrap())
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
    fn timing(after: u64, repeat: Option<u64>) -> Timing {
        Timing { after: Duration::from_secs(after), repeat: repeat.map(Duration::from_secs) }
    }
    fn at_once(repeat: Option<Duration>) -> Timing {
        Timing { repeat, ..Timing::AT_ONCE }
    }

    /// One sweep a minute for `minutes`, meeting `problem` in the minutes `present` says, every
    /// alert delivered: the alerts sent, as (minute, "failed" or "recovered").
    fn sweeps(
        timing: Timing,
        problem: &Failure,
        minutes: u64,
        present: impl Fn(u64) -> bool,
    ) -> Vec<(u64, &'static str)> {
        let (zones, mut state, mut sent) = (zones(), Incidents::default(), Vec::new());
        for minute in 0..minutes {
            let met = if present(minute) { vec![problem.clone()] } else { Vec::new() };
            let step = state.observe(&met, &sweep(&zones), minute * MINUTE, timing);
            let a = &step.alerting;
            if !a.new.is_empty() || !a.reminders.is_empty() {
                sent.push((minute, "failed"));
            }
            if !a.recovered.is_empty() {
                sent.push((minute, "recovered"));
            }
            state = step.delivered(minute * MINUTE);
        }
        sent
    }

    /// The alerts of one kind sent less than `hours` apart: any two such fall inside one
    /// interval, wherever the interval starts.
    fn closer_than(sent: &[(u64, &'static str)], hours: u64) -> Vec<((u64, u64), &'static str)> {
        let mut close = Vec::new();
        for kind in ["failed", "recovered"] {
            let minutes: Vec<u64> = sent.iter().filter(|(_, k)| *k == kind).map(|(m, _)| *m).collect();
            close.extend(minutes.windows(2).filter(|w| w[1] - w[0] < hours * 60).map(|w| ((w[0], w[1]), kind)));
        }
        close
    }

    #[test]
    fn a_problem_alerts_once_reminds_after_the_interval_and_says_when_it_clears() {
        let (zones, taken) = (zones(), [conflict("taken.example.com")]);
        let repeat = at_once(Some(Duration::from_secs(6 * HOUR)));
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
        let never = Timing::AT_ONCE;
        assert!(state.observe(&taken, &sweep(&zones), 99 * HOUR, never).alerting.is_empty(), "no reminders at 0");
        let fixed = state.observe(&[], &sweep(&zones), 8 * HOUR, repeat);
        assert_eq!(fixed.alerting.recovered, ["Conflict: taken.example.com A (i-12345678)"]);
        let state = fixed.delivered(8 * HOUR);
        assert_eq!(state.open(), 0);
        assert!(state.observe(&[], &sweep(&zones), 9 * HOUR, repeat).alerting.is_empty(), "recovered once");
    }

    #[test]
    fn a_problem_clears_only_where_the_invocation_looked() {
        let (zones, taken) = (zones(), [conflict("taken.example.com")]);
        let t = Timing::AT_ONCE;
        let state = Incidents::default().observe(&taken, &sweep(&zones), 0, t).delivered(0);
        let event = Coverage { full: false, described: true, read: zones.clone() };
        assert!(state.observe(&[], &event, 60, t).alerting.recovered.is_empty(), "an event covers one instance");
        let unread = Coverage { full: true, described: true, read: Vec::new() };
        assert!(state.observe(&[], &unread, 60, t).alerting.recovered.is_empty(), "its zone was not read");
        let ec2 = [Failure::new(FailureKind::Ec2Denied, "ec2", "denied")];
        let blind = Coverage { full: true, described: false, read: Vec::new() };
        let step = state.observe(&ec2, &blind, 60, t);
        assert!(step.alerting.recovered.is_empty(), "nothing was read: nothing clears");
        assert_eq!(labels(&step.alerting.new), ["Ec2Denied: ec2"]);
        let state = step.delivered(60);
        assert_eq!(state.open(), 2);
        assert_eq!(state.observe(&[], &sweep(&zones), 120, t).alerting.recovered.len(), 2);
    }

    #[test]
    fn an_undelivered_alert_is_tried_again_and_the_message_is_not_the_identity() {
        let (zones, t) = (zones(), Timing::AT_ONCE);
        let first = Incidents::default().observe(&[conflict("a.example.com")], &sweep(&zones), 0, t);
        let state = first.undelivered();
        let mut reworded = conflict("a.example.com");
        reworded.message = "RequestId 42".into();
        let again = state.observe(&[reworded], &sweep(&zones), 60, t);
        assert_eq!(again.alerting.new.len(), 1, "not yet delivered: still new");
        let state = again.delivered(60);
        let gone = state.observe(&[], &sweep(&zones), 120, t);
        assert_eq!(gone.alerting.recovered.len(), 1);
        let state = gone.undelivered();
        assert_eq!(state.observe(&[], &sweep(&zones), 180, t).alerting.recovered.len(), 1, "the notice is retried");
    }

    #[test]
    fn an_error_a_retry_could_fix_alerts_once_it_has_lasted_and_a_problem_at_once() {
        // (what, DDNS_ALERT_AFTER in minutes, the minute the first dns.failed goes out)
        for (what, problem, after, first) in [
            ("throttling, 5m", throttled(), 5, Some(5)),
            ("throttling, 0: at once", throttled(), 0, Some(0)),
            ("a foreign record: at once", conflict("taken.example.com"), 5, Some(0)),
            ("throttling for 3 minutes of 5", throttled(), 5, None),
        ] {
            let lasts = if first.is_none() { 3 } else { 20 };
            let sent = sweeps(timing(after * MINUTE, Some(6 * HOUR)), &problem, 30, |m| m < lasts);
            let failed = sent.iter().find(|(_, k)| *k == "failed").map(|(m, _)| *m);
            assert_eq!(failed, first, "{what}: {sent:?}");
            let recovered: Vec<u64> = sent.iter().filter(|(_, k)| *k == "recovered").map(|(m, _)| *m).collect();
            let want: Vec<u64> = first.map(|_| lasts - 1 + after.max(1)).into_iter().collect();
            assert_eq!(recovered, want, "{what}: said once it stayed clear for DDNS_ALERT_AFTER: {sent:?}");
        }
    }

    #[test]
    fn an_error_that_comes_and_goes_sends_at_most_one_failure_and_one_recovery_per_repeat_interval() {
        let six_hours = timing(5 * MINUTE, Some(6 * HOUR));
        // (the pattern over 13 hours of sweeps, which minutes meet the error)
        type Pattern = (&'static str, fn(u64) -> bool);
        let patterns: [Pattern; 4] = [
            ("every other minute", |m| m % 2 == 0),
            ("every other minute for an hour, then gone", |m| m < 60 && m % 2 == 0),
            ("10 minutes on, 10 off", |m| (m / 10) % 2 == 0),
            ("an hour on, an hour off", |m| (m / 60) % 2 == 0),
        ];
        for (what, present) in patterns {
            let sent = sweeps(six_hours, &throttled(), 13 * 60, present);
            assert!(!sent.is_empty(), "{what}: it lasted, so it alerts");
            assert_eq!(closer_than(&sent, 6), [], "{what}: {sent:?}");
        }
        // Counted in any 6 hours, not in 6-hour windows from the start: two either side of an edge.
        assert_eq!(closer_than(&[(359, "failed"), (361, "failed"), (400, "recovered")], 6), [((359, 361), "failed")]);
        // Before: every change of state alerted.
        let before = sweeps(Timing::AT_ONCE, &throttled(), 12, |m| m % 2 == 0);
        assert_eq!(before.len(), 12, "{before:?}");
        // Every other minute for an hour: one failure after five minutes, one recovery once it
        // stayed clear for five.
        let sent = sweeps(six_hours, &throttled(), 120, |m| m < 60 && m % 2 == 0);
        assert_eq!(sent, [(6, "failed"), (63, "recovered")]);
    }

    #[test]
    fn a_cleared_incident_that_comes_back_within_the_repeat_interval_reopens_quietly() {
        let t = timing(5 * MINUTE, Some(HOUR));
        let taken = conflict("taken.example.com");
        // On at minutes 0-9, 20-29 and 100-109: failed at 0, recovered at 14; back at 20 within
        // the hour since its alert, quietly, and its second clearing is quiet too; at 100 the
        // hour has passed: new again.
        let sent = sweeps(t, &taken, 130, |m| m < 10 || (20..30).contains(&m) || (100..110).contains(&m));
        assert_eq!(sent, [(0, "failed"), (14, "recovered"), (100, "failed"), (114, "recovered")]);
        // Still open when the hour is up: a reminder, and its clearing is said.
        let sent = sweeps(t, &taken, 100, |m| m < 10 || (20..70).contains(&m));
        assert_eq!(sent, [(0, "failed"), (14, "recovered"), (60, "failed"), (74, "recovered")]);
        // With no reminders (DDNS_ALERT_REPEAT=0) a return is new.
        let sent = sweeps(timing(0, None), &taken, 4, |m| m % 2 == 0);
        assert_eq!(sent, [(0, "failed"), (1, "recovered"), (2, "failed"), (3, "recovered")]);
    }

    #[test]
    fn two_environments_working_one_problem_alert_it_once() {
        let (zones, t) = (zones(), timing(0, Some(6 * HOUR)));
        let taken = [conflict("taken.example.com")];
        // Both start from the same store, and meet the problem a few seconds apart.
        let (a, b) = (Incidents::default(), Incidents::default());
        let step = a.observe(&taken, &sweep(&zones), 10, t);
        assert_eq!(step.alerting.new.len(), 1);
        let a = step.delivered(10);
        let stored = a.store();
        let step = b.observe(&taken, &sweep(&zones), 12, t);
        assert_eq!(step.alerting.new.len(), 1, "b has something to send, so it reads the store again");
        let merged = b.merge(&Incidents::load(&stored).unwrap());
        let step = merged.observe(&taken, &sweep(&zones), 12, t);
        assert!(step.alerting.is_empty(), "a sent it: {:?}", step.alerting);
        let b = step.delivered(12);
        assert_eq!(b.open(), 1);
        // It clears: a says so; b, about to say it too, reads a's store and stays quiet.
        let a = a.observe(&[], &sweep(&zones), 70, t).delivered(70);
        let step = b.observe(&[], &sweep(&zones), 72, t);
        assert_eq!(step.alerting.recovered.len(), 1);
        let merged = b.merge(&Incidents::load(&a.store()).unwrap());
        let step = merged.observe(&[], &sweep(&zones), 72, t);
        assert!(step.alerting.is_empty(), "a said it: {:?}", step.alerting);
        assert_eq!(step.delivered(72).open(), 0);
        // An error one environment has met for four minutes and another for one has lasted five.
        let t = timing(5 * MINUTE, Some(6 * HOUR));
        let a = Incidents::default().observe(&[throttled()], &sweep(&zones), 0, t).delivered(0);
        let b = Incidents::default().observe(&[throttled()], &sweep(&zones), 240, t).delivered(240);
        assert!(b.observe(&[throttled()], &sweep(&zones), 300, t).alerting.is_empty(), "b alone: 1 minute");
        let merged = b.merge(&a);
        assert_eq!(merged.observe(&[throttled()], &sweep(&zones), 300, t).alerting.new.len(), 1);
    }

    #[test]
    fn a_problem_that_stays_changes_nothing_worth_storing() {
        let (zones, t) = (zones(), timing(5 * MINUTE, Some(6 * HOUR)));
        let taken = [conflict("taken.example.com")];
        let state = Incidents::default().observe(&taken, &sweep(&zones), 0, t).delivered(0);
        let stored = state.store();
        let later = state.observe(&taken, &sweep(&zones), 10 * MINUTE, t).delivered(10 * MINUTE);
        assert_ne!(later, state, "it was met again");
        assert!(later.same_as_stored(Some(&stored)), "but only when it was met changed");
        assert!(!Incidents::default().same_as_stored(Some(&stored)));
        assert!(Incidents::default().same_as_stored(None));
        assert!(!state.same_as_stored(None));
        assert!(!state.same_as_stored(Some("{\"v\": 99}")), "an unreadable parameter is replaced");
    }

    #[test]
    fn the_store_round_trips_and_folds_what_does_not_fit() {
        let (zones, t) = (zones(), Timing::AT_ONCE);
        let many: Vec<Failure> = (0..200).map(|i| conflict(&format!("host-{i:03}.example.com"))).collect();
        let state = Incidents::default().observe(&many, &sweep(&zones), 0, t).delivered(0);
        let stored = state.store();
        assert!(stored.len() <= MAX_STORED, "{}", stored.len());
        let loaded = Incidents::load(&stored).unwrap();
        assert_eq!(loaded.open(), 200, "every problem is accounted for");
        assert!(loaded.folded.as_ref().is_some_and(|f| f.count > 100), "{:?}", loaded.folded);
        // After a cold start, the same problems are not news.
        let step = loaded.observe(&many, &sweep(&zones), 60, t);
        assert!(step.alerting.is_empty(), "{:?}", step.alerting.new.len());
        // And when they clear, one notice names the kept ones and counts the rest.
        let cleared = Incidents::load(&stored).unwrap().observe(&[], &sweep(&zones), 60, t);
        assert!(
            cleared.alerting.recovered.last().unwrap().starts_with("and "),
            "{:?}",
            cleared.alerting.recovered.last()
        );
        assert_eq!(cleared.delivered(60).open(), 0);
        let small = Incidents::default().observe(&many[..2], &sweep(&zones), 0, t).delivered(0);
        assert_eq!(Incidents::load(&small.store()).unwrap(), small);
    }

    #[test]
    fn version_1_of_the_stored_form_is_read() {
        let v1 = r#"{"v":1,"open":[["aaaaaaaaaaaa",100,160,"Route53Throttled: Z1","Z1",0],["bbbbbbbbbbbb",50,null,"Conflict: x A (i-1)","Z1",1]],"more":null}"#;
        let loaded = Incidents::load(v1).unwrap();
        let a = &loaded.open["aaaaaaaaaaaa"];
        assert_eq!((a.transient, a.since, a.seen, a.alerted, a.state), (true, 100, 100, Some(160), State::Open));
        let b = &loaded.open["bbbbbbbbbbbb"];
        assert_eq!((b.transient, b.alerted, b.state), (false, None, State::Cleared));
        let again = Incidents::load(&loaded.store()).unwrap();
        assert_eq!(again, loaded, "rewritten in version {VERSION}, nothing lost");
        assert!(loaded.store().contains(&format!("\"v\":{VERSION}")), "{}", loaded.store());
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        for (text, why) in [
            ("", "not JSON"),
            ("{\"open\": []}", "no format version"),
            ("{\"v\": 3, \"open\": []}", "version 3"),
            ("{\"v\": 1, \"open\": [[1]]}", "malformed incident"),
            ("{\"v\": 2, \"open\": [[\"a\", 1, 1, null, null, \"l\", null]]}", "malformed incident"),
            ("{\"v\": 2, \"open\": [[\"a\", 1, 1, null, null, \"l\", null, 6]]}", "malformed incident"),
            ("{\"v\": 1}", "malformed list"),
        ] {
            let err = Incidents::load(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        assert_eq!(Incidents::load("{\"v\": 1, \"open\": []}").unwrap(), Incidents::default());
    }
}
