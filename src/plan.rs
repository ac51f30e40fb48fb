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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
}

/// What Route53 holds at one (zone, name), every type.
pub type Current = HashMap<(ZoneId, RecordName), Vec<Existing>>;

/// Diffs desired against current. Records the desired list does not name are never touched.
pub fn plan(desired: &[Desired], current: &Current) -> Plan {
    let mut out = Plan::default();
    let none = Vec::new();
    for d in desired {
        let at_name = current.get(&(d.zone.clone(), d.name.clone())).unwrap_or(&none);
        let same_type: Vec<&Existing> = at_name.iter().filter(|e| e.rtype == d.rtype.as_str()).collect();
        let conflict = |reason: String| Conflict {
            zone: d.zone.clone(),
            name: d.name.clone(),
            rtype: d.rtype,
            instance: d.instance.clone(),
            reason,
        };
        if let Some(special) = same_type.iter().find_map(|e| e.special.clone()) {
            out.conflicts.push(conflict(format!("{special} at this name; refusing to overwrite it")));
            continue;
        }
        let existing = same_type.first().map(|e| RecordData { ttl: e.ttl.unwrap_or(0), values: e.values.clone() });
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
            (Want::Address { value, ttl }, None) => {
                if at_name.iter().any(|e| e.rtype == "CNAME") {
                    out.conflicts.push(conflict("a CNAME record exists at this name; refusing to replace it".into()));
                    continue;
                }
                let new = RecordData { ttl: *ttl, values: vec![value.clone()] };
                out.changes.push(change(Action::Create, None, Some(new)));
            }
            (Want::Address { value, ttl }, Some(old)) => {
                if old.ttl == *ttl && old.values.len() == 1 && same_address(&old.values[0], value) {
                    out.unchanged += 1;
                } else {
                    let new = RecordData { ttl: *ttl, values: vec![value.clone()] };
                    out.changes.push(change(Action::Update, Some(old), Some(new)));
                }
            }
            (Want::Absent { .. }, Some(old)) => out.changes.push(change(Action::Delete, Some(old), None)),
            (Want::Absent { .. }, None) | (Want::Leave { .. }, _) => out.unchanged += 1,
        }
    }
    out
}

/// Addresses compare as addresses, so `2600:1f18:0::1` equals `2600:1f18::1`.
fn same_address(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Splits changes into requests: one zone per request, all of a name's changes together, and
/// each request within Route53's element and character limits.
pub fn batches(changes: &[Change]) -> Vec<Vec<Change>> {
    let mut by_zone: Vec<(ZoneId, Vec<Vec<&Change>>)> = Vec::new();
    for c in changes {
        let zone_pos = match by_zone.iter().position(|(z, _)| z == &c.zone) {
            Some(p) => p,
            None => {
                by_zone.push((c.zone.clone(), Vec::new()));
                by_zone.len() - 1
            }
        };
        let groups = &mut by_zone[zone_pos].1;
        match groups.iter_mut().find(|g| g[0].name == c.name) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    let mut out = Vec::new();
    for (_, groups) in by_zone {
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
            batch.extend(group.into_iter().cloned());
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
        }
    }
    fn want_absent(n: &str) -> Desired {
        Desired {
            zone: zone("Z1"),
            name: name(n),
            rtype: RecordType::A,
            instance: id(),
            want: Want::Absent { reason: "stopped".into() },
        }
    }
    fn want_leave(n: &str) -> Desired {
        Desired {
            zone: zone("Z1"),
            name: name(n),
            rtype: RecordType::A,
            instance: id(),
            want: Want::Leave { reason: "stopped".into() },
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
    fn actions(p: &Plan) -> Vec<(String, Action)> {
        p.changes.iter().map(|c| (format!("{} {}", c.name, c.rtype), c.action)).collect()
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
            let p = plan(&desired, &current(cur));
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
        );
        let c = &p.changes[0];
        assert_eq!(c.old, Some(RecordData { ttl: 60, values: vec!["3.1.2.4".into()] }));
        assert_eq!(c.new, Some(RecordData { ttl: 60, values: vec!["3.1.9.9".into()] }));
        let p = plan(
            &[want_absent("app.example.com")],
            &current(vec![existing("app.example.com.", "A", 120, &["3.1.2.4"])]),
        );
        // Route53 deletes only on an exact match, so the delete carries what exists.
        assert_eq!(p.changes[0].old, Some(RecordData { ttl: 120, values: vec!["3.1.2.4".into()] }));
    }

    #[test]
    fn alias_and_routing_records_are_refused() {
        let mut alias = existing("app.example.com.", "A", 0, &[]);
        alias.special = Some("an alias record".into());
        for d in [want_addr("app.example.com", RecordType::A, "3.1.2.4"), want_absent("app.example.com")] {
            let p = plan(&[d], &current(vec![alias.clone()]));
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
        let first = plan(&desired, &Current::new());
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
        let second = plan(&desired, &current(applied));
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
}
