//! Route53's limits on one ChangeResourceRecordSets request, the IAM statement each change falls
//! under, and the split of a plan's changes into requests within both. Pure.

use crate::records::{Action, Change, Origin, RecordData, group_by};

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
}
