//! The pure diff: desired records x current records -> changes and conflicts, then batches
//! within Route53's limits. No async, no SDK types, no logging: callers log what comes back.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::desired::{Desired, Want};
use crate::names::{InstanceId, RecordName, RecordType, ZoneId};

/// Route53 accepts at most this many ResourceRecord elements per request (UPSERT counts twice).
pub const MAX_RECORDS_PER_BATCH: usize = 1_000;
/// Route53 accepts at most this many characters of values per request (UPSERT counts twice).
pub const MAX_VALUE_CHARS_PER_BATCH: usize = 32_000;

/// A record set as Route53 holds it, reduced to what the plan compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub name: RecordName,
    /// Any type, as Route53 spells it (A, AAAA, CNAME, MX, …).
    pub rtype: String,
    pub ttl: Option<u32>,
    pub values: Vec<String>,
    /// An alias record, or one with a routing policy (set identifier): never ours to rewrite.
    pub special: Option<String>,
}

/// A record's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordData {
    pub ttl: u32,
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub zone: ZoneId,
    pub name: RecordName,
    pub rtype: RecordType,
    pub action: Action,
    pub old: Option<RecordData>,
    pub new: Option<RecordData>,
    pub instance: InstanceId,
}

impl Change {
    /// The name whose changes travel together: a marker goes with the name it guards.
    pub fn group_name(&self) -> RecordName {
        self.name.guarded().unwrap_or_else(|| self.name.clone())
    }

    /// Route53's weight of this change against [`MAX_RECORDS_PER_BATCH`].
    fn record_weight(&self) -> usize {
        match self.action {
            Action::Create => self.new.as_ref().map_or(0, |d| d.values.len()),
            Action::Delete => self.old.as_ref().map_or(0, |d| d.values.len()),
            Action::Update => 2 * self.new.as_ref().map_or(0, |d| d.values.len()),
        }
    }

    /// Route53's weight of this change against [`MAX_VALUE_CHARS_PER_BATCH`].
    fn char_weight(&self) -> usize {
        let chars = |d: &Option<RecordData>| d.as_ref().map_or(0, |d| d.values.iter().map(String::len).sum());
        match self.action {
            Action::Create => chars(&self.new),
            Action::Delete => chars(&self.old),
            Action::Update => 2 * chars(&self.new),
        }
    }
}

/// A managed record that the plan refuses to touch, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub zone: ZoneId,
    pub name: RecordName,
    pub rtype: RecordType,
    pub instance: InstanceId,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unchanged: usize,
    pub conflicts: Vec<Conflict>,
    /// Set when the safety valve holds the plan back; then nothing may be written.
    pub blocked: Option<String>,
}

/// What Route53 holds at one (zone, name), every type.
pub type Current = HashMap<(ZoneId, RecordName), Vec<Existing>>;

/// The text every ownership marker starts with.
pub const HERITAGE: &str = "heritage=dynamic-dns-updater";

/// The value of the TXT marker that says `owner` manages a name for `instance`.
pub fn marker_value(owner: &str, instance: &InstanceId) -> String {
    format!("\"{HERITAGE},owner={owner},instance={instance}\"")
}

/// Who a marker says owns a name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Marker {
    None,
    Ours { instance: Option<String>, data: RecordData },
    Theirs(String),
}

fn read_marker(records: Option<&Vec<Existing>>, owner: &str) -> Marker {
    let Some(txt) = records.and_then(|r| r.iter().find(|e| e.rtype == "TXT")) else { return Marker::None };
    let text: String = txt.values.iter().map(|v| v.trim_matches('"')).collect();
    let fields: HashMap<&str, &str> = text.split(',').filter_map(|kv| kv.split_once('=')).collect();
    if !text.starts_with(HERITAGE) {
        return Marker::Theirs("a TXT record that is not an ownership marker".into());
    }
    match fields.get("owner") {
        Some(o) if *o == owner => Marker::Ours {
            instance: fields.get("instance").map(|i| i.to_string()),
            data: RecordData { ttl: txt.ttl.unwrap_or(0), values: txt.values.clone() },
        },
        Some(o) => Marker::Theirs(format!("owner {o}")),
        None => Marker::Theirs("an unnamed owner".into()),
    }
}

/// Which orphans (names our markers guard that nothing wants any more) a run may clean up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Orphans {
    /// None: the run did not read enough to know.
    Ignore,
    /// Every orphan found: a full sweep.
    All,
    /// Only these instances': an event about them.
    Of(Vec<InstanceId>),
}

/// The ownership rules a plan applies.
#[derive(Clone, Debug)]
pub struct Rules<'a> {
    /// The owner id written in and expected from markers.
    pub owner: &'a str,
    pub orphans: Orphans,
    /// Go past the safety valve.
    pub force: bool,
}

/// A sweep may not delete more than half of the owned names, nor at least this many, unforced.
pub const VALVE_MIN_DELETES: usize = 10;

/// Diffs desired against current under the ownership rules. Records that neither the desired
/// list nor one of our markers names are never touched.
pub fn plan(desired: &[Desired], current: &Current, rules: &Rules) -> Plan {
    let mut out = Plan::default();
    let none = Vec::new();
    let groups = group_by(desired, |a, b| a.zone == b.zone && a.name == b.name);
    for group in &groups {
        let (zone, name, instance) = (&group[0].zone, &group[0].name, &group[0].instance);
        let at_name = current.get(&(zone.clone(), name.clone())).unwrap_or(&none);
        let marker = read_marker(current.get(&(zone.clone(), name.marker())), rules.owner);
        let conflict = |d: &Desired, reason: String| Conflict {
            zone: d.zone.clone(),
            name: d.name.clone(),
            rtype: d.rtype,
            instance: d.instance.clone(),
            reason,
        };
        if let Marker::Theirs(who) = &marker {
            let reason = format!("the name is owned by {who}; left untouched");
            out.conflicts.extend(group.iter().map(|d| conflict(d, reason.clone())));
            continue;
        }
        let mut changes = Vec::new();
        let mut conflicts = Vec::new();
        let mut unchanged = 0;
        let mut will_exist = false;
        let mut ttl = None;
        for d in group {
            let same_type: Vec<&Existing> = at_name.iter().filter(|e| e.rtype == d.rtype.as_str()).collect();
            if let Some(special) = same_type.iter().find_map(|e| e.special.clone()) {
                conflicts.push(conflict(d, format!("{special} at this name; refusing to overwrite it")));
                continue;
            }
            let existing = same_type.first().map(|e| RecordData { ttl: e.ttl.unwrap_or(0), values: e.values.clone() });
            if d.discovered && existing.is_some() && marker == Marker::None {
                conflicts
                    .push(conflict(d, "a record exists without this tool's ownership marker; left untouched".into()));
                continue;
            }
            let change = |action, old: Option<RecordData>, new: Option<RecordData>| Change {
                zone: d.zone.clone(),
                name: d.name.clone(),
                rtype: d.rtype,
                action,
                old,
                new,
                instance: d.instance.clone(),
            };
            match (&d.want, existing) {
                (Want::Address { value, ttl: want_ttl }, None) => {
                    if at_name.iter().any(|e| e.rtype == "CNAME") {
                        conflicts
                            .push(conflict(d, "a CNAME record exists at this name; refusing to replace it".into()));
                        continue;
                    }
                    let new = RecordData { ttl: *want_ttl, values: vec![value.clone()] };
                    changes.push(change(Action::Create, None, Some(new)));
                    (will_exist, ttl) = (true, Some(*want_ttl));
                }
                (Want::Address { value, ttl: want_ttl }, Some(old)) => {
                    if old.ttl == *want_ttl && old.values.len() == 1 && same_address(&old.values[0], value) {
                        unchanged += 1;
                    } else {
                        let new = RecordData { ttl: *want_ttl, values: vec![value.clone()] };
                        changes.push(change(Action::Update, Some(old), Some(new)));
                    }
                    (will_exist, ttl) = (true, Some(*want_ttl));
                }
                (Want::Absent { .. }, Some(old)) => changes.push(change(Action::Delete, Some(old), None)),
                (Want::Absent { .. }, None) => unchanged += 1,
                (Want::Leave { .. }, existing) => {
                    unchanged += 1;
                    if let Some(old) = existing {
                        (will_exist, ttl) = (true, ttl.or(Some(old.ttl)));
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            // One foreign record at a name keeps the whole name out of our hands.
            out.unchanged += group.len() - conflicts.len();
            out.conflicts.extend(conflicts);
            continue;
        }
        out.unchanged += unchanged;
        let marker_name = name.marker();
        let marker_change = |action, old, new| Change {
            zone: zone.clone(),
            name: marker_name.clone(),
            rtype: RecordType::TXT,
            action,
            old,
            new,
            instance: instance.clone(),
        };
        match (&marker, will_exist) {
            (Marker::None, true) => {
                let new = RecordData { ttl: ttl.unwrap_or(60), values: vec![marker_value(rules.owner, instance)] };
                changes.push(marker_change(Action::Create, None, Some(new)));
            }
            (Marker::Ours { instance: held, data }, true) if held.as_deref() != Some(instance.as_str()) => {
                let new = RecordData { ttl: data.ttl, values: vec![marker_value(rules.owner, instance)] };
                changes.push(marker_change(Action::Update, Some(data.clone()), Some(new)));
            }
            (Marker::Ours { data, .. }, false) if !group.iter().any(|d| matches!(d.want, Want::Leave { .. })) => {
                changes.push(marker_change(Action::Delete, Some(data.clone()), None));
            }
            _ => {}
        }
        out.changes.extend(changes);
    }
    out.changes.extend(orphans(&groups, current, rules));
    out.blocked = valve(&out.changes, current, rules);
    out
}

/// Deletions for names our markers guard that nothing wants any more.
fn orphans(groups: &[Vec<&Desired>], current: &Current, rules: &Rules) -> Vec<Change> {
    let mut out = Vec::new();
    if rules.orphans == Orphans::Ignore {
        return out;
    }
    let mut keys: Vec<&(ZoneId, RecordName)> = current.keys().collect();
    keys.sort();
    for (zone, marker_name) in keys {
        let Some(guarded) = marker_name.guarded() else { continue };
        if groups.iter().any(|g| &g[0].zone == zone && g[0].name == guarded) {
            continue;
        }
        let Marker::Ours { instance, data } =
            read_marker(current.get(&(zone.clone(), marker_name.clone())), rules.owner)
        else {
            continue;
        };
        let Some(instance) = instance.and_then(|i| InstanceId::parse(&i).ok()) else { continue };
        if let Orphans::Of(only) = &rules.orphans
            && !only.contains(&instance)
        {
            continue;
        }
        let delete = |name: &RecordName, rtype, old: RecordData| Change {
            zone: zone.clone(),
            name: name.clone(),
            rtype,
            action: Action::Delete,
            old: Some(old),
            new: None,
            instance: instance.clone(),
        };
        for e in current.get(&(zone.clone(), guarded.clone())).into_iter().flatten() {
            let rtype = match e.rtype.as_str() {
                "A" => RecordType::A,
                "AAAA" => RecordType::AAAA,
                _ => continue,
            };
            if e.special.is_none() {
                out.push(delete(&guarded, rtype, RecordData { ttl: e.ttl.unwrap_or(0), values: e.values.clone() }));
            }
        }
        out.push(delete(marker_name, RecordType::TXT, data));
    }
    out
}

/// Why the plan must not be applied: it would delete too much of what we own.
fn valve(changes: &[Change], current: &Current, rules: &Rules) -> Option<String> {
    if rules.force {
        return None;
    }
    let owned = current
        .iter()
        .filter(|((_, name), records)| {
            name.guarded().is_some() && matches!(read_marker(Some(records), rules.owner), Marker::Ours { .. })
        })
        .count();
    let deleted = changes.iter().filter(|c| c.rtype == RecordType::TXT && c.action == Action::Delete).count();
    (deleted >= VALVE_MIN_DELETES && deleted * 2 > owned).then(|| {
        format!(
            "safety valve: this run would delete {deleted} of the {owned} names this tool owns; nothing was written. \
             If that is intended, invoke {{\"action\": \"reconcile\", \"force\": true}}"
        )
    })
}

/// Addresses compare as addresses, so `2600:1f18:0::1` equals `2600:1f18::1`.
fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Items gathered into groups of those `same` pairs up; groups and their items keep first-seen order.
fn group_by<T>(items: impl IntoIterator<Item = T>, same: impl Fn(&T, &T) -> bool) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    for item in items {
        match groups.iter_mut().find(|g| same(&g[0], &item)) {
            Some(g) => g.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}

/// Changes grouped by zone and name, in first-seen order; a marker goes with the name it guards.
pub fn by_name(changes: Vec<Change>) -> Vec<Vec<Change>> {
    group_by(changes, |a, b| a.zone == b.zone && a.group_name() == b.group_name())
}

/// Splits changes into requests: one zone per request, all of a name's changes together, and
/// each request within Route53's element and character limits.
pub fn batches(changes: &[Change]) -> Vec<Vec<Change>> {
    let names = by_name(changes.to_vec());
    let mut out = Vec::new();
    for groups in group_by(&names, |a, b| a[0].zone == b[0].zone) {
        let mut batch: Vec<Change> = Vec::new();
        let (mut records, mut chars) = (0, 0);
        for group in groups {
            let r: usize = group.iter().map(|c| c.record_weight()).sum();
            let ch: usize = group.iter().map(|c| c.char_weight()).sum();
            if !batch.is_empty() && (records + r > MAX_RECORDS_PER_BATCH || chars + ch > MAX_VALUE_CHARS_PER_BATCH) {
                out.push(std::mem::take(&mut batch));
                records = 0;
                chars = 0;
            }
            records += r;
            chars += ch;
            batch.extend(group.iter().cloned());
        }
        if !batch.is_empty() {
            out.push(batch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> RecordName {
        RecordName::parse(n).unwrap()
    }
    fn zone(z: &str) -> ZoneId {
        ZoneId::parse(z).unwrap()
    }
    fn id() -> InstanceId {
        InstanceId::parse("i-12345678").unwrap()
    }
    fn want_addr(n: &str, t: RecordType, v: &str) -> Desired {
        Desired {
            zone: zone("Z1"),
            name: name(n),
            rtype: t,
            instance: id(),
            want: Want::Address { value: v.into(), ttl: 60 },
            discovered: false,
        }
    }
    fn want_absent(n: &str) -> Desired {
        Desired {
            zone: zone("Z1"),
            name: name(n),
            rtype: RecordType::A,
            instance: id(),
            want: Want::Absent { reason: "stopped".into() },
            discovered: false,
        }
    }
    fn want_leave(n: &str) -> Desired {
        Desired {
            zone: zone("Z1"),
            name: name(n),
            rtype: RecordType::A,
            instance: id(),
            want: Want::Leave { reason: "stopped".into() },
            discovered: false,
        }
    }
    fn existing(n: &str, t: &str, ttl: u32, values: &[&str]) -> Existing {
        Existing {
            name: RecordName::from_route53(n),
            rtype: t.into(),
            ttl: Some(ttl),
            values: values.iter().map(|v| v.to_string()).collect(),
            special: None,
        }
    }
    fn current(records: Vec<Existing>) -> Current {
        let mut c = Current::new();
        for e in records {
            c.entry((zone("Z1"), e.name.clone())).or_default().push(e);
        }
        c
    }
    fn rules() -> Rules<'static> {
        Rules { owner: "me", orphans: Orphans::Ignore, force: false }
    }
    /// The address changes, leaving ownership markers to the ownership tests.
    fn actions(p: &Plan) -> Vec<(String, Action)> {
        p.changes
            .iter()
            .filter(|c| c.rtype != RecordType::TXT)
            .map(|c| (format!("{} {}", c.name, c.rtype), c.action))
            .collect()
    }

    /// (label, desired, current, expected changes, unchanged, conflicts)
    type Case = (&'static str, Vec<Desired>, Vec<Existing>, Vec<(&'static str, Action)>, usize, usize);

    #[test]
    fn table() {
        use Action::*;
        use RecordType::*;
        let cases: Vec<Case> = vec![
            (
                "create",
                vec![want_addr("app.example.com", A, "3.1.2.4")],
                vec![],
                vec![("app.example.com A", Create)],
                0,
                0,
            ),
            (
                "no-op",
                vec![want_addr("app.example.com", A, "3.1.2.4")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])],
                vec![],
                1,
                0,
            ),
            (
                "name spelling is not a change",
                vec![want_addr("APP.example.COM.", A, "3.1.2.4")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])],
                vec![],
                1,
                0,
            ),
            (
                "wildcard spelling is not a change",
                vec![want_addr("*.example.com", A, "3.1.2.4")],
                vec![existing("\\052.example.com.", "A", 60, &["3.1.2.4"])],
                vec![],
                1,
                0,
            ),
            (
                "ipv6 spelling is not a change",
                vec![want_addr("app.example.com", AAAA, "2600:1f18::1")],
                vec![existing("app.example.com.", "AAAA", 60, &["2600:1f18:0:0::1"])],
                vec![],
                1,
                0,
            ),
            (
                "new ip",
                vec![want_addr("app.example.com", A, "3.1.9.9")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])],
                vec![("app.example.com A", Update)],
                0,
                0,
            ),
            (
                "ttl drift",
                vec![want_addr("app.example.com", A, "3.1.2.4")],
                vec![existing("app.example.com.", "A", 300, &["3.1.2.4"])],
                vec![("app.example.com A", Update)],
                0,
                0,
            ),
            (
                "extra value added by hand",
                vec![want_addr("app.example.com", A, "3.1.2.4")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4", "9.9.9.9"])],
                vec![("app.example.com A", Update)],
                0,
                0,
            ),
            (
                "delete",
                vec![want_absent("app.example.com")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])],
                vec![("app.example.com A", Delete)],
                0,
                0,
            ),
            ("delete of nothing", vec![want_absent("app.example.com")], vec![], vec![], 1, 0),
            (
                "keep leaves it",
                vec![want_leave("app.example.com")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])],
                vec![],
                1,
                0,
            ),
            (
                "other types and names untouched",
                vec![want_addr("app.example.com", A, "3.1.2.4")],
                vec![
                    existing("app.example.com.", "A", 60, &["3.1.2.4"]),
                    existing("app.example.com.", "MX", 300, &["10 mx.example.com"]),
                    existing("app.example.com.", "TXT", 300, &["\"v=spf1 -all\""]),
                    existing("other.example.com.", "A", 60, &["1.1.1.1"]),
                ],
                vec![],
                1,
                0,
            ),
            (
                "AAAA does not disturb A",
                vec![want_addr("app.example.com", AAAA, "2600:1f18::1")],
                vec![existing("app.example.com.", "A", 60, &["9.9.9.9"])],
                vec![("app.example.com AAAA", Create)],
                0,
                0,
            ),
            (
                "cname blocks create",
                vec![want_addr("app.example.com", A, "3.1.2.4")],
                vec![existing("app.example.com.", "CNAME", 60, &["elsewhere.example.com"])],
                vec![],
                0,
                1,
            ),
        ];
        for (label, desired, cur, want, unchanged, conflicts) in cases {
            let p = plan(&desired, &current(cur), &rules());
            let want: Vec<(String, Action)> = want.into_iter().map(|(n, a)| (n.to_string(), a)).collect();
            assert_eq!(actions(&p), want, "{label}");
            assert_eq!(p.unchanged, unchanged, "{label}: unchanged");
            assert_eq!(p.conflicts.len(), conflicts, "{label}: conflicts");
        }
    }

    #[test]
    fn changes_carry_old_and_new() {
        let p = plan(
            &[want_addr("app.example.com", RecordType::A, "3.1.9.9")],
            &current(vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])]),
            &rules(),
        );
        let c = &p.changes[0];
        assert_eq!(c.old, Some(RecordData { ttl: 60, values: vec!["3.1.2.4".into()] }));
        assert_eq!(c.new, Some(RecordData { ttl: 60, values: vec!["3.1.9.9".into()] }));
        let p = plan(
            &[want_absent("app.example.com")],
            &current(vec![existing("app.example.com.", "A", 120, &["3.1.2.4"])]),
            &rules(),
        );
        // Route53 deletes only on an exact match, so the delete carries what exists.
        assert_eq!(p.changes[0].old, Some(RecordData { ttl: 120, values: vec!["3.1.2.4".into()] }));
    }

    #[test]
    fn alias_and_routing_records_are_refused() {
        let mut alias = existing("app.example.com.", "A", 0, &[]);
        alias.special = Some("an alias record".into());
        for d in [want_addr("app.example.com", RecordType::A, "3.1.2.4"), want_absent("app.example.com")] {
            let p = plan(&[d], &current(vec![alias.clone()]), &rules());
            assert!(p.changes.is_empty());
            assert!(p.conflicts[0].reason.contains("alias"), "{:?}", p.conflicts);
        }
    }

    #[test]
    fn idempotent_after_apply() {
        let desired = vec![
            want_addr("a.example.com", RecordType::A, "3.1.2.4"),
            want_addr("b.example.com", RecordType::AAAA, "2600::1"),
        ];
        let first = plan(&desired, &Current::new(), &rules());
        let applied: Vec<Existing> = first
            .changes
            .iter()
            .map(|c| {
                let d = c.new.clone().unwrap();
                Existing {
                    name: c.name.clone(),
                    rtype: c.rtype.to_string(),
                    ttl: Some(d.ttl),
                    values: d.values,
                    special: None,
                }
            })
            .collect();
        let second = plan(&desired, &current(applied), &rules());
        assert!(second.changes.is_empty());
        assert_eq!(second.unchanged, 2);
    }

    fn change(z: &str, n: &str, action: Action, value_len: usize) -> Change {
        let data = Some(RecordData { ttl: 60, values: vec!["x".repeat(value_len)] });
        let (old, new) = match action {
            Action::Create => (None, data),
            Action::Delete => (data, None),
            Action::Update => (data.clone(), data),
        };
        Change { zone: zone(z), name: name(n), rtype: RecordType::A, action, old, new, instance: id() }
    }

    #[test]
    fn one_batch_per_zone_when_small() {
        let changes = vec![
            change("Z1", "a.example.com", Action::Create, 7),
            change("Z2", "b.example.org", Action::Update, 7),
            change("Z1", "c.example.com", Action::Delete, 7),
        ];
        let b = batches(&changes);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].len(), 2);
        assert!(b[0].iter().all(|c| c.zone.as_str() == "Z1"));
        assert_eq!(b[1][0].zone.as_str(), "Z2");
    }

    #[test]
    fn batches_respect_the_record_limit_with_upsert_counting_twice() {
        let creates: Vec<Change> =
            (0..1500).map(|i| change("Z1", &format!("h{i}.example.com"), Action::Create, 7)).collect();
        let sizes: Vec<usize> = batches(&creates).iter().map(Vec::len).collect();
        assert_eq!(sizes, [1000, 500]);
        let updates: Vec<Change> =
            (0..1500).map(|i| change("Z1", &format!("h{i}.example.com"), Action::Update, 7)).collect();
        let sizes: Vec<usize> = batches(&updates).iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 500, 500]);
    }

    #[test]
    fn batches_respect_the_character_limit() {
        let big: Vec<Change> =
            (0..10).map(|i| change("Z1", &format!("h{i}.example.com"), Action::Create, 10_000)).collect();
        let sizes: Vec<usize> = batches(&big).iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 3, 3, 1]);
        for b in batches(&big) {
            assert!(b.iter().map(|c| c.char_weight()).sum::<usize>() <= MAX_VALUE_CHARS_PER_BATCH);
        }
    }

    #[test]
    fn a_name_never_splits_across_batches() {
        let mut changes: Vec<Change> =
            (0..999).map(|i| change("Z1", &format!("h{i}.example.com"), Action::Create, 7)).collect();
        let mut aaaa = change("Z1", "h0.example.com", Action::Create, 7);
        aaaa.rtype = RecordType::AAAA;
        changes.push(change("Z1", "last.example.com", Action::Create, 7));
        changes.push(aaaa);
        let b = batches(&changes);
        assert_eq!(b.len(), 2);
        assert!(b[0].iter().filter(|c| c.name.as_str() == "h0.example.com.").count() == 2);
    }

    fn discovered(n: &str, want: Want) -> Desired {
        Desired { zone: zone("Z1"), name: name(n), rtype: RecordType::A, instance: id(), want, discovered: true }
    }
    fn addr(v: &str) -> Want {
        Want::Address { value: v.into(), ttl: 60 }
    }
    fn gone() -> Want {
        Want::Absent { reason: "instance is terminated".into() }
    }
    fn marker(n: &str, owner: &str, instance: &str) -> Existing {
        let value = format!("\"{HERITAGE},owner={owner},instance={instance}\"");
        existing(&format!("_ddns-owner.{n}."), "TXT", 60, &[&value])
    }
    fn all(p: &Plan) -> Vec<(String, Action)> {
        p.changes.iter().map(|c| (format!("{} {}", c.name, c.rtype), c.action)).collect()
    }

    /// (label, desired, current, expected changes with markers, conflicts)
    type OwnershipCase = (&'static str, Desired, Vec<Existing>, Vec<(&'static str, Action)>, usize);

    #[test]
    fn ownership_rules() {
        use Action::*;
        let ours = |n: &str| marker(n, "me", "i-12345678");
        let a = |v: &str| existing("app.example.com.", "A", 60, &[v]);
        let cases: Vec<OwnershipCase> = vec![
            (
                "discovered creates with a marker",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![],
                vec![("app.example.com A", Create), ("_ddns-owner.app.example.com TXT", Create)],
                0,
            ),
            (
                "discovered may not take an unmarked record",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![a("9.9.9.9")],
                vec![],
                1,
            ),
            (
                "discovered may not delete an unmarked record",
                discovered("app.example.com", gone()),
                vec![a("9.9.9.9")],
                vec![],
                1,
            ),
            (
                "discovered updates its own record",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![a("9.9.9.9"), ours("app.example.com")],
                vec![("app.example.com A", Update)],
                0,
            ),
            (
                "discovered deletes its own record and marker",
                discovered("app.example.com", gone()),
                vec![a("9.9.9.9"), ours("app.example.com")],
                vec![("app.example.com A", Delete), ("_ddns-owner.app.example.com TXT", Delete)],
                0,
            ),
            (
                "another owner's name is left alone",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![a("9.9.9.9"), marker("app.example.com", "them", "i-87654321")],
                vec![],
                1,
            ),
            (
                "explicit adopts and marks",
                want_addr("app.example.com", RecordType::A, "3.1.2.4"),
                vec![a("3.1.2.4")],
                vec![("_ddns-owner.app.example.com TXT", Create)],
                0,
            ),
            (
                "explicit never takes another owner's name",
                want_addr("app.example.com", RecordType::A, "3.1.2.4"),
                vec![a("9.9.9.9"), marker("app.example.com", "them", "i-87654321")],
                vec![],
                1,
            ),
            (
                "a user's TXT at the marker name is not ours",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![existing("_ddns-owner.app.example.com.", "TXT", 60, &["\"hello\""])],
                vec![],
                1,
            ),
            (
                "the marker follows a new instance",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![a("3.1.2.4"), marker("app.example.com", "me", "i-0000000a")],
                vec![("_ddns-owner.app.example.com TXT", Update)],
                0,
            ),
            (
                "in sync and marked: nothing",
                discovered("app.example.com", addr("3.1.2.4")),
                vec![a("3.1.2.4"), ours("app.example.com")],
                vec![],
                0,
            ),
        ];
        for (label, d, cur, want, conflicts) in cases {
            let p = plan(&[d], &current(cur), &rules());
            let want: Vec<(String, Action)> = want.into_iter().map(|(n, a)| (n.to_string(), a)).collect();
            assert_eq!(all(&p), want, "{label}");
            assert_eq!(p.conflicts.len(), conflicts, "{label}: {:?}", p.conflicts);
            assert_eq!(p.blocked, None, "{label}");
        }
    }

    #[test]
    fn a_foreign_record_keeps_the_whole_name_out_of_reach() {
        let d = [
            Desired { rtype: RecordType::A, ..discovered("app.example.com", addr("3.1.2.4")) },
            Desired { rtype: RecordType::AAAA, ..discovered("app.example.com", addr("2600::1")) },
        ];
        let p = plan(&d, &current(vec![existing("app.example.com.", "A", 60, &["9.9.9.9"])]), &rules());
        assert!(p.changes.is_empty(), "no AAAA and no marker beside a foreign A: {:?}", p.changes);
        assert_eq!(p.conflicts.len(), 1);
    }

    #[test]
    fn orphans_are_cleaned_only_within_scope() {
        let cur = current(vec![
            existing("old.example.com.", "A", 60, &["3.1.2.4"]),
            existing("old.example.com.", "AAAA", 60, &["2600::1"]),
            existing("old.example.com.", "MX", 60, &["10 mx.example.com."]),
            marker("old.example.com", "me", "i-12345678"),
            existing("theirs.example.com.", "A", 60, &["3.1.2.5"]),
            marker("theirs.example.com", "them", "i-12345678"),
        ]);
        let with = |orphans| Rules { owner: "me", orphans, force: false };
        let p = plan(&[], &cur, &with(Orphans::All));
        let mut got = all(&p);
        got.sort();
        assert_eq!(
            got,
            [
                ("_ddns-owner.old.example.com TXT".to_string(), Action::Delete),
                ("old.example.com A".to_string(), Action::Delete),
                ("old.example.com AAAA".to_string(), Action::Delete),
            ]
        );
        assert!(plan(&[], &cur, &with(Orphans::Ignore)).changes.is_empty());
        assert!(plan(&[], &cur, &with(Orphans::Of(vec![InstanceId::parse("i-87654321").unwrap()]))).changes.is_empty());
        assert_eq!(plan(&[], &cur, &with(Orphans::Of(vec![id()]))).changes.len(), 3);
        // A name someone still wants is no orphan.
        let wanted = [discovered("old.example.com", addr("3.1.2.4"))];
        assert!(plan(&wanted, &cur, &with(Orphans::All)).changes.iter().all(|c| c.action != Action::Delete));
    }

    #[test]
    fn the_safety_valve_holds_back_mass_deletion() {
        let owned = |n: usize| -> Vec<Existing> {
            (0..n)
                .flat_map(|i| {
                    [
                        existing(&format!("h{i}.example.com."), "A", 60, &["3.1.2.4"]),
                        marker(&format!("h{i}.example.com"), "me", "i-12345678"),
                    ]
                })
                .collect()
        };
        let gone_all =
            |n: usize| -> Vec<Desired> { (0..n).map(|i| discovered(&format!("h{i}.example.com"), gone())).collect() };
        let rules = |force| Rules { owner: "me", orphans: Orphans::All, force };
        // 10 of 10: held back, unless forced.
        let p = plan(&gone_all(10), &current(owned(10)), &rules(false));
        assert!(p.blocked.as_deref().unwrap().contains("would delete 10 of the 10"), "{:?}", p.blocked);
        assert_eq!(plan(&gone_all(10), &current(owned(10)), &rules(true)).blocked, None);
        // An empty describe (every instance vanished) is the same as all gone: orphans, held back.
        let p = plan(&[], &current(owned(12)), &rules(false));
        assert!(p.blocked.is_some());
        // Fewer than 10, or not more than half: allowed.
        assert_eq!(plan(&gone_all(9), &current(owned(9)), &rules(false)).blocked, None);
        let mut half: Vec<Desired> = gone_all(10);
        half.extend((10..20).map(|i| discovered(&format!("h{i}.example.com"), addr("3.1.2.4"))));
        assert_eq!(plan(&half, &current(owned(20)), &rules(false)).blocked, None);
    }
}
