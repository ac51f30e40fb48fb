//! Route53's limits on one ChangeResourceRecordSets request, the IAM statement each change falls
//! under, the split of a plan's changes into requests within both, and the split of a request
//! Route53 refused. Pure.

use crate::records::{Action, Change, Origin, RecordData, SetType, group_by};
use crate::route53::refusal::Named;

/// The statement of the function's IAM policy that allows a change. terraform/main.tf renders
/// one statement per grant, and no request mixes two grants: IAM checks every change of a
/// request against one statement, so a request mixing them could be refused whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    /// ChangeManagedRecords: DDNS_RECORDS' names and their markers, their types and TXT.
    Managed,
    /// ChangeTaggedRecords: names within the allowed zones (or DDNS_TAG_SUFFIXES), the tag types
    /// and TXT.
    Tagged,
    /// DeleteReleasedAddresses: A and AAAA records of ours nothing asks for any more, deleted.
    ReleaseAddresses,
    /// DeleteOwnMarkers: `_ddns-owner.*` TXT markers, deleted; always after the records they
    /// guard, so that no record of ours is ever left without its marker.
    ReleaseMarkers,
}

pub fn grant(c: &Change) -> Grant {
    match c.origin {
        Origin::Mapping => Grant::Managed,
        Origin::Tag => Grant::Tagged,
        Origin::Cleanup if c.is_marker() => Grant::ReleaseMarkers,
        Origin::Cleanup => Grant::ReleaseAddresses,
    }
}

/// Route53 accepts at most this many ResourceRecord elements per request.
pub const MAX_RECORDS_PER_BATCH: usize = 1_000;
/// Route53 accepts at most this many characters of values per request.
pub const MAX_VALUE_CHARS_PER_BATCH: usize = 32_000;

/// Route53's weight of a change against [`MAX_RECORDS_PER_BATCH`] and [`MAX_VALUE_CHARS_PER_BATCH`].
fn weight(c: &Change) -> (usize, usize) {
    let of = |d: &Option<RecordData>| {
        d.as_ref().map_or((0, 0), |d| (d.values.len(), d.values.iter().map(String::len).sum()))
    };
    match c.action {
        Action::Create => of(&c.new),
        Action::Delete => of(&c.old),
        // Sent as the DELETE of the old values and the CREATE of the new ones.
        Action::Update => {
            let ((old_records, old_chars), (records, chars)) = (of(&c.old), of(&c.new));
            (old_records + records, old_chars + chars)
        }
    }
}

/// Changes grouped by zone and name, in first-seen order; a marker goes with the name it guards.
pub fn by_name(changes: Vec<Change>) -> Vec<Vec<Change>> {
    group_by(changes, Change::group_key)
}

/// Splits changes into requests: one zone and one grant per request (within a zone, in the
/// order of [`Grant`]), all of a name's changes under one grant together, and each request
/// within Route53's element and character limits.
pub fn batches(changes: &[Change]) -> Vec<Vec<Change>> {
    let mut names = group_by(changes.iter().cloned(), |c| (c.group_key(), grant(c)));
    // Zones keep the order they were first seen in; the sort is stable, so names keep theirs.
    let mut zones = Vec::new();
    for c in changes {
        if !zones.contains(&&c.zone) {
            zones.push(&c.zone);
        }
    }
    names.sort_by_key(|g| (zones.iter().position(|z| **z == g[0].zone), grant(&g[0])));
    let mut out = Vec::new();
    for groups in group_by(names, |g| (g[0].zone.clone(), grant(&g[0]))) {
        let mut batch: Vec<Change> = Vec::new();
        let (mut records, mut chars) = (0, 0);
        for group in groups {
            let (r, ch) = group.iter().map(weight).fold((0, 0), |(r, ch), (a, b)| (r + a, ch + b));
            if !batch.is_empty() && (records + r > MAX_RECORDS_PER_BATCH || chars + ch > MAX_VALUE_CHARS_PER_BATCH) {
                out.push(std::mem::take(&mut batch));
                (records, chars) = (0, 0);
            }
            records += r;
            chars += ch;
            batch.extend(group);
        }
        if !batch.is_empty() {
            out.push(batch);
        }
    }
    out
}

/// What to send after Route53 refused a request. A name's changes (its records and their
/// marker) stay together throughout: a marker is never written or removed apart from the
/// records it guards.
#[derive(Debug, PartialEq)]
pub enum Split {
    /// The names holding a change Route53 named, each with what it said of it, set aside; the
    /// rest, to send again at once.
    Named { aside: Vec<(Vec<Change>, Named)>, rest: Vec<Change> },
    /// Route53 named nothing in it: two halves, by names, so that the refused name is found in
    /// a logarithmic number of requests.
    Halves(Vec<Change>, Vec<Change>),
    /// One name's changes, which Route53 did not name: they are the refused ones.
    Alone(Vec<Change>),
}

/// Splits a refused request by what Route53 `named` in its refusal.
pub fn split(batch: Vec<Change>, named: &[Named]) -> Split {
    // A type Route53 names that this tool never writes (a CNAME, say) still names the name.
    let hit = |c: &Change, n: &Named| {
        c.name == n.name && n.rtype.is_none_or(|t| !matches!(t, SetType::Ours(_)) || t == SetType::Ours(c.rtype))
    };
    let (mut aside, mut rest) = (Vec::new(), Vec::new());
    let units = by_name(batch);
    let count = units.len();
    for unit in units {
        match named.iter().find(|n| unit.iter().any(|c| hit(c, n))) {
            Some(n) => aside.push((unit, n.clone())),
            None => rest.push(unit),
        }
    }
    if !aside.is_empty() {
        return Split::Named { aside, rest: rest.concat() };
    }
    if count == 1 {
        return Split::Alone(rest.concat());
    }
    let second = rest.split_off(count / 2);
    Split::Halves(rest.concat(), second.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{InstanceId, RecordName, RecordType, ZoneId};

    fn zone(z: &str) -> ZoneId {
        ZoneId::parse(z).unwrap()
    }
    fn name(n: &str) -> RecordName {
        RecordName::parse(n).unwrap()
    }
    fn id() -> InstanceId {
        InstanceId::parse("i-12345678").unwrap()
    }

    fn change(z: &str, n: &str, action: Action, value_len: usize) -> Change {
        let data = Some(RecordData { ttl: 60, values: vec!["x".repeat(value_len)] });
        let (old, new) = match action {
            Action::Create => (None, data),
            Action::Delete => (data, None),
            Action::Update => (data.clone(), data),
        };
        Change {
            zone: zone(z),
            name: name(n),
            rtype: RecordType::A,
            action,
            old,
            new,
            instance: id(),
            origin: Origin::Mapping,
        }
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
    fn batches_respect_the_record_limit_with_an_update_counting_its_old_and_new_values() {
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
        // Route53's limit, pinned: 32,000 characters of values; each change here carries 10,000.
        assert!(sizes.iter().all(|n| n * 10_000 <= 32_000), "{sizes:?}");
        assert_eq!((weight(&big[0]), MAX_VALUE_CHARS_PER_BATCH, MAX_RECORDS_PER_BATCH), ((1, 10_000), 32_000, 1_000));
        let update = change("Z1", "u.example.com", Action::Update, 10_000);
        assert_eq!(weight(&update), (2, 20_000), "an update is sent as a DELETE and a CREATE");
    }

    #[test]
    fn no_request_mixes_grants_and_markers_go_after_the_records_they_guard() {
        let with = |n: &str, rtype, origin| Change { rtype, origin, ..change("Z1", n, Action::Delete, 7) };
        let marker = |n: &str, origin| Change { name: name(n).marker(), ..with(n, RecordType::TXT, origin) };
        let changes = vec![
            marker("orphan.example.com", Origin::Cleanup),
            with("orphan.example.com", RecordType::A, Origin::Cleanup),
            with("tagged.example.com", RecordType::A, Origin::Tag),
            marker("tagged.example.com", Origin::Tag),
            with("static.example.com", RecordType::AAAA, Origin::Mapping),
            with("static.example.com", RecordType::A, Origin::Cleanup),
        ];
        let got: Vec<(Grant, Vec<String>)> = batches(&changes)
            .iter()
            .map(|b| (grant(&b[0]), b.iter().map(|c| format!("{} {}", c.name, c.rtype)).collect()))
            .collect();
        assert_eq!(
            got,
            [
                (Grant::Managed, vec!["static.example.com AAAA".to_string()]),
                (Grant::Tagged, vec!["tagged.example.com A".into(), "_ddns-owner.tagged.example.com TXT".into()]),
                (Grant::ReleaseAddresses, vec!["orphan.example.com A".into(), "static.example.com A".into()]),
                (Grant::ReleaseMarkers, vec!["_ddns-owner.orphan.example.com TXT".into()]),
            ]
        );
        assert!(batches(&changes).iter().all(|b| b.iter().all(|c| grant(c) == grant(&b[0]))));
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

    #[test]
    fn a_refused_request_sets_aside_what_route53_named_and_halves_the_rest_by_names() {
        use crate::route53::refusal::{Guardrail, named};
        // Each name deletes its A record and its marker, as when its instance stops.
        let unit = |n: &str| {
            let a = change("Z1", n, Action::Delete, 7);
            let marker = Change { name: name(n).marker(), rtype: RecordType::TXT, ..a.clone() };
            vec![a, marker]
        };
        let batch = |names: &[&str]| names.iter().flat_map(|n| unit(n)).collect::<Vec<_>>();
        let guardrail = |n: &str| {
            format!(
                "[RRSet with DNS name {n}., type A cannot be deleted because of guardrail ACTIVE_RECORD_CHECK: queried]"
            )
        };
        let said = |message: &str| named(message).remove(0);
        for (label, names, message, want) in [
            (
                "names its record: that name (and its marker) aside, the rest again at once",
                &["a.example.com", "b.example.com", "c.example.com"][..],
                guardrail("b.example.com"),
                Split::Named {
                    aside: vec![(unit("b.example.com"), said(&guardrail("b.example.com")))],
                    rest: batch(&["a.example.com", "c.example.com"]),
                },
            ),
            (
                "names a marker: its name goes aside whole",
                &["a.example.com", "b.example.com"],
                "[RRSet with DNS name _ddns-owner.a.example.com., type TXT cannot be changed because it is protected]"
                    .into(),
                Split::Named {
                    aside: vec![(
                        unit("a.example.com"),
                        said("[RRSet with DNS name _ddns-owner.a.example.com., type TXT cannot be changed because it is protected]"),
                    )],
                    rest: batch(&["b.example.com"]),
                },
            ),
            (
                "names another type at the name: still that name",
                &["a.example.com", "b.example.com"],
                "[RRSet with DNS name a.example.com., type CNAME cannot be deleted because of guardrail ALIAS_TARGET_CHECK]"
                    .into(),
                Split::Named {
                    aside: vec![(
                        unit("a.example.com"),
                        said("[RRSet with DNS name a.example.com., type CNAME cannot be deleted because of guardrail ALIAS_TARGET_CHECK]"),
                    )],
                    rest: batch(&["b.example.com"]),
                },
            ),
            (
                "names its only name",
                &["a.example.com"],
                guardrail("a.example.com"),
                Split::Named { aside: vec![(unit("a.example.com"), said(&guardrail("a.example.com")))], rest: vec![] },
            ),
            (
                "names none: halves by names, a marker beside its record",
                &["a.example.com", "b.example.com", "c.example.com", "d.example.com", "e.example.com"],
                "[Change refused because of guardrail ACTIVE_RECORD_CHECK]".into(),
                Split::Halves(
                    batch(&["a.example.com", "b.example.com"]),
                    batch(&["c.example.com", "d.example.com", "e.example.com"]),
                ),
            ),
            (
                "names a record not in the request: as if none",
                &["a.example.com", "b.example.com"],
                guardrail("elsewhere.example.com"),
                Split::Halves(batch(&["a.example.com"]), batch(&["b.example.com"])),
            ),
            ("names none, one name: it is the one", &["a.example.com"], "injected".into(), Split::Alone(unit("a.example.com"))),
        ] {
            assert_eq!(split(batch(names), &named(&message)), want, "{label}");
        }
        assert_eq!(said(&guardrail("b.example.com")).guardrail, Some(Guardrail::ActiveRecord));
    }
}
