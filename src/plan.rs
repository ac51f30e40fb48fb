//! The pure diff: desired records x what Route53 holds, under the registry's ownership rules ->
//! changes, conflicts and the safety valve's verdict. No async, no SDK types, no logging: the
//! caller logs what comes back.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::desired::{Desired, Refusal, Want};
use crate::names::{InstanceId, RecordName, RecordType, ZoneId};
use crate::records::{Action, Change, Current, Existing, Origin, RecordData, SetType, group_by};
use crate::registry::{Claim, MarkerWant, Orphan, Registry};
use crate::scope::Orphans;

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
    /// Claims on a name that the verdict turned down (the incumbent rule, a clash of kinds, an
    /// instance EC2 does not know).
    pub refusals: Vec<Refusal>,
    /// Set when the safety valve holds the plan back; then nothing may be written.
    pub blocked: Option<String>,
}

/// A sweep may not delete more than half of the owned names, nor at least this many, unforced.
pub const VALVE_MIN_DELETES: usize = 10;

/// The ownership rules of one run.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    /// Which names nobody wants this run may clean up.
    pub orphans: &'a Orphans,
    /// Instances this run saw terminated: names under the earlier default owner id that they
    /// held may be released.
    pub gone: &'a HashSet<InstanceId>,
    /// Go past the safety valve.
    pub force: bool,
    /// The names the operator's mappings configure, whether or not this run covers them: never
    /// orphans (an event about one instance does not make a static group's name unwanted).
    pub configured: &'a HashSet<(ZoneId, RecordName)>,
}

/// The verdict on every name in play: the candidates' claims are settled name by name (who
/// holds it, whom it is refused to; see [`Registry::settle`]) and diffed against `current`
/// (what to write, delete, or leave, and what is someone else's), and the names our markers
/// guard that nothing wants any more are released as far as `rules` let this run. Records that
/// neither a candidate nor one of our markers names are never touched.
pub fn plan(candidates: &[Desired], current: &Current, registry: &Registry, rules: &Rules) -> Plan {
    let settled = registry.settle(candidates.to_vec());
    let desired = &settled.records;
    let groups = group_by(desired, |d| (&d.zone, &d.name));
    let mut out = Plan { refusals: settled.refusals, ..Plan::default() };
    for group in &groups {
        let name = plan_name(group, current, registry);
        out.changes.extend(name.changes);
        out.unchanged += name.unchanged;
        out.conflicts.extend(name.conflicts);
    }
    let names: HashSet<(&ZoneId, &RecordName)> = groups.iter().map(|g| (&g[0].zone, &g[0].name)).collect();
    let wanted = |zone: &ZoneId, name: &RecordName| {
        names.contains(&(zone, name)) || rules.configured.contains(&(zone.clone(), name.clone()))
    };
    for orphan in registry.orphans(wanted, rules.orphans, |i| rules.gone.contains(i)) {
        out.changes.extend(release(&orphan, current, registry));
    }
    out.blocked = valve(&out.changes, registry, rules.force);
    out
}

/// Deletes every record and marker this owner holds that `keep` lets go (see
/// [`Registry::releasable`]): what a deployment gives back before it is removed.
pub fn release_all(current: &Current, registry: &Registry, keep: impl Fn(&Orphan) -> bool) -> Plan {
    let changes = registry.releasable(keep).iter().flat_map(|o| release(o, current, registry)).collect();
    Plan { changes, ..Plan::default() }
}

/// The plan for one name: every type wanted there, and its marker.
fn plan_name(group: &[&Desired], current: &Current, registry: &Registry) -> Plan {
    let (zone, name, instance) = (&group[0].zone, &group[0].name, &group[0].instance);
    let claim = registry.claim(zone, name);
    if let Claim::Theirs(who) = claim {
        let reason = format!(
            "the name is owned by {who}; left untouched. Choose another name, or delete the TXT record {} if that owner is gone",
            name.marker().display()
        );
        return Plan { conflicts: group.iter().map(|d| conflict(d, reason.clone())).collect(), ..Plan::default() };
    }
    let at_name = current.at(zone, name);
    let origin = if group[0].discovered.is_some() { Origin::Tag } else { Origin::Mapping };
    // Records of ours at the name of a type nothing wants there any more go.
    let mut out = Plan { changes: stale(group, at_name, claim), ..Plan::default() };
    // The TTL of what will exist at the name once the changes are made, if anything will.
    let mut kept_ttl: Option<u32> = None;
    // Types at the name that are the user's: left alone, out of the marker, the rest goes on.
    let mut theirs: Vec<RecordType> = Vec::new();
    let mut whole = false;
    // Whether a record at the name is this holder's own (written or in sync), not only left:
    // what is merely left keeps the marker it has, never one naming another instance.
    let mut held = false;
    for d in group {
        match diff(d, at_name, claim, origin) {
            Step::Conflict(reason) => {
                whole = true;
                out.conflicts.push(conflict(d, reason));
            }
            Step::Theirs(reason) => {
                theirs.push(d.rtype);
                out.conflicts.push(conflict(d, reason));
            }
            Step::Write(change, ttl) => {
                kept_ttl = ttl.or(kept_ttl);
                held |= ttl.is_some();
                out.changes.push(change);
            }
            Step::Same { ttl, leave } => {
                out.unchanged += 1;
                kept_ttl = if leave { kept_ttl.or(ttl) } else { ttl.or(kept_ttl) };
                held |= !leave && ttl.is_some();
            }
        }
    }
    if whole {
        // One foreign record at a name keeps the whole name out of our hands.
        return Plan { unchanged: group.len() - out.conflicts.len(), conflicts: out.conflicts, ..Plan::default() };
    }
    let mut types: Vec<RecordType> = group.iter().map(|d| d.rtype).filter(|t| !theirs.contains(t)).collect();
    types.sort();
    types.dedup();
    let left = |d: &&&Desired| match &d.want {
        Want::Leave { .. } => true,
        Want::Unknown { .. } => !claim.names(&d.instance),
        _ => false,
    };
    // Where records of ours go now and nothing is written, the marker lists what is left of
    // ours, and goes when nothing is: it never guards a record that is not there.
    let deleted: Vec<RecordType> =
        out.changes.iter().filter(|c| c.action == Action::Delete && !c.is_marker()).map(|c| c.rtype).collect();
    let left_of_ours = || -> Vec<RecordType> {
        // A marker from before markers named types covers any.
        let listed = claim.types().unwrap_or(&[RecordType::A, RecordType::AAAA]);
        let there = |t: &RecordType| at_name.iter().any(|e| e.is(*t) && e.special.is_none());
        listed.iter().filter(|t| there(t) && !deleted.contains(t)).copied().collect()
    };
    // A marker only narrowed keeps naming the instance it names.
    let mut holder = instance.clone();
    let want = match kept_ttl {
        Some(ttl) if held => MarkerWant::Present { ttl, types },
        _ if !deleted.is_empty() && claim.is_ours() => match left_of_ours() {
            left if left.is_empty() => MarkerWant::Absent,
            left => {
                holder = registry.incumbent(zone, name).and_then(InstanceId::holder).unwrap_or(holder);
                MarkerWant::Present { ttl: kept_ttl.unwrap_or_default(), types: left }
            }
        },
        Some(_) => MarkerWant::Keep,
        None if group.iter().any(|d| left(&d)) => MarkerWant::Keep,
        None => MarkerWant::Absent,
    };
    // A marker that goes together with clean-ups goes after them, as they do.
    let cleanup = want == MarkerWant::Absent && out.changes.iter().any(|c| c.origin == Origin::Cleanup);
    let marker_origin = if cleanup { Origin::Cleanup } else { origin };
    out.changes.extend(registry.marker_change(zone, name, &holder, want, marker_origin));
    out
}

/// Deletions of our address records at a wanted name whose types none of `group` wants: only
/// of types our marker says we wrote (a marker from before markers named types says none).
fn stale(group: &[&Desired], at_name: &[Existing], claim: &Claim) -> Vec<Change> {
    let d = group[0];
    let ours = |rtype: RecordType| claim.types().is_some_and(|types| types.contains(&rtype));
    deletions(&d.zone, &d.name, &d.instance, at_name, |rtype| ours(rtype) && group.iter().all(|g| g.rtype != rtype))
}

/// Deletions of the plain address records at a name whose type `delete_it` picks.
fn deletions(
    zone: &ZoneId,
    name: &RecordName,
    instance: &InstanceId,
    at_name: &[Existing],
    delete_it: impl Fn(RecordType) -> bool,
) -> Vec<Change> {
    at_name
        .iter()
        .filter(|e| e.special.is_none())
        .filter_map(|e| match e.rtype {
            SetType::Ours(rtype @ (RecordType::A | RecordType::AAAA)) if delete_it(rtype) => {
                Some(delete(zone, name, rtype, e, instance))
            }
            _ => None,
        })
        .collect()
}

/// The deletion of an existing record of ours that nothing wants.
fn delete(zone: &ZoneId, name: &RecordName, rtype: RecordType, e: &Existing, instance: &InstanceId) -> Change {
    Change {
        zone: zone.clone(),
        name: name.clone(),
        rtype,
        action: Action::Delete,
        old: Some(e.data()),
        new: None,
        instance: instance.clone(),
        origin: Origin::Cleanup,
    }
}

/// What one wanted record comes to.
enum Step {
    /// A change, and the TTL the record has after it (none when it is deleted).
    Write(Change, Option<u32>),
    /// Nothing to do; `ttl` is the record's when one exists (or is wanted), `leave` when it
    /// stays only because it is left alone.
    Same { ttl: Option<u32>, leave: bool },
    /// A conflict that keeps the whole name out of our hands.
    Conflict(String),
    /// A record of this type at the name is the user's (our marker does not list its type): it
    /// is left alone, and the name's other types go on.
    Theirs(String),
}

fn diff(d: &Desired, at_name: &[Existing], claim: &Claim, origin: Origin) -> Step {
    let same_type: Vec<&Existing> = at_name.iter().filter(|e| e.is(d.rtype)).collect();
    const ELSEWHERE: &str = "Remove it, or stop managing this name";
    if let Some(special) = same_type.iter().find_map(|e| e.special.as_ref()) {
        return Step::Conflict(format!("{special} at this name; refusing to overwrite it. {ELSEWHERE}"));
    }
    let existing = same_type.first().map(|e| e.data());
    // A record is only ours by type: one of a type our marker does not list is the user's.
    if let (Some(_), Some(types)) = (&existing, claim.is_ours().then(|| claim.types()).flatten())
        && !types.contains(&d.rtype)
    {
        let listed: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        return Step::Theirs(format!(
            "a {} record at this name is not this tool's (its ownership marker lists only {}); left untouched. Delete it to let this tool manage {} here, or leave {} out of the types",
            d.rtype,
            listed.join(", "),
            d.rtype,
            d.rtype
        ));
    }
    if d.discovered.is_some() && existing.is_some() && *claim == Claim::Free {
        return Step::Conflict(format!(
            "a record exists without this tool's ownership marker; left untouched. Delete that {} record, or list {} in DDNS_RECORDS to adopt it",
            d.rtype,
            d.name.display()
        ));
    }
    let change = |action, old, new| Change {
        zone: d.zone.clone(),
        name: d.name.clone(),
        rtype: d.rtype,
        action,
        old,
        new,
        instance: d.instance.clone(),
        origin,
    };
    match (&d.want, existing) {
        (Want::Address { .. }, None) if at_name.iter().any(|e| e.rtype == SetType::Cname) => {
            Step::Conflict(format!("a CNAME record exists at this name; refusing to replace it. {ELSEWHERE}"))
        }
        (Want::Address { values, ttl }, None) => {
            let new = RecordData { ttl: *ttl, values: values.clone() };
            Step::Write(change(Action::Create, None, Some(new)), Some(*ttl))
        }
        (Want::Address { values, ttl }, Some(old)) => {
            if old.ttl == *ttl && same_addresses(&old.values, values) {
                Step::Same { ttl: Some(*ttl), leave: false }
            } else {
                let new = RecordData { ttl: *ttl, values: values.clone() };
                Step::Write(change(Action::Update, Some(old), Some(new)), Some(*ttl))
            }
        }
        // A record no marker of ours ever covered is not deleted: it was never ours.
        (Want::Absent { .. }, Some(_)) if *claim == Claim::Free => Step::Theirs(format!(
            "a {} record exists at this name without this tool's ownership marker; left untouched",
            d.rtype
        )),
        (Want::Absent { .. }, Some(old)) => Step::Write(change(Action::Delete, Some(old), None), None),
        (Want::Absent { .. }, None) => Step::Same { ttl: None, leave: false },
        // An instance EC2 does not know: its record goes only where our marker names that very
        // instance (it existed and is gone for good), never because a mapping names an unknown id.
        (Want::Unknown { .. }, Some(old)) if claim.names(&d.instance) => {
            Step::Write(change(Action::Delete, Some(old), None), None)
        }
        (Want::Unknown { .. }, existing) => Step::Same { ttl: existing.map(|e| e.ttl), leave: true },
        (Want::Leave { .. }, existing) => Step::Same { ttl: existing.map(|e| e.ttl), leave: true },
    }
}

fn conflict(d: &Desired, reason: String) -> Conflict {
    Conflict { zone: d.zone.clone(), name: d.name.clone(), rtype: d.rtype, instance: d.instance.clone(), reason }
}

/// Deletes an orphan's address records (of the types its marker names) and then its marker.
fn release(orphan: &Orphan, current: &Current, registry: &Registry) -> Vec<Change> {
    let (zone, name, instance) = (&orphan.zone, &orphan.name, &orphan.instance);
    let guarded = |rtype: RecordType| orphan.types.as_ref().is_none_or(|types| types.contains(&rtype));
    let mut out = deletions(zone, name, instance, current.at(zone, name), guarded);
    out.extend(registry.marker_change(zone, name, instance, MarkerWant::Absent, Origin::Cleanup));
    out
}

/// Why the plan must not be applied: it would delete too much of what we own, or empty too
/// many of the groups we own.
fn valve(changes: &[Change], registry: &Registry, force: bool) -> Option<String> {
    if force {
        return None;
    }
    let deletes = changes.iter().filter(|c| c.is_marker() && c.action == Action::Delete);
    let (owned, groups) = (registry.owned(), registry.groups());
    let deleted = deletes.clone().count();
    let emptied = deletes.filter(|c| c.instance.is_group()).count();
    let too_many = |gone: usize, of: usize| gone >= VALVE_MIN_DELETES && gone * 2 > of;
    let what = if too_many(deleted, owned) {
        format!("delete {deleted} of the {owned} names this tool owns")
    } else if too_many(emptied, groups) {
        format!("empty {emptied} of the {groups} groups this tool owns")
    } else {
        return None;
    };
    Some(format!(
        "safety valve: this run would {what}; nothing was written. \
         If that is intended, invoke {{\"action\": \"reconcile\", \"force\": true}}"
    ))
}

/// Addresses compare as addresses, so `2600:1f18:0::1` equals `2600:1f18::1`, and a set's in
/// any order.
fn same_addresses(old: &[String], new: &[String]) -> bool {
    let parsed = |values: &[String]| {
        let mut parsed: Vec<Result<IpAddr, String>> = values.iter().map(|v| v.parse().map_err(|_| v.clone())).collect();
        parsed.sort();
        parsed
    };
    parsed(old) == parsed(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Claimant;
    use crate::registry::{HERITAGE, Owner};

    fn name(n: &str) -> RecordName {
        RecordName::parse(n).unwrap()
    }
    fn zone(z: &str) -> ZoneId {
        ZoneId::parse(z).unwrap()
    }
    fn id() -> InstanceId {
        InstanceId::parse("i-12345678").unwrap()
    }
    /// A wanted record of the test instance in Z1.
    fn row(n: &str, rtype: RecordType, want: Want, discovered: Option<Claimant>) -> Desired {
        let (zone, name, instance) = (zone("Z1"), name(n), id());
        Desired { zone, name, rtype, instance, members: Vec::new(), want, discovered }
    }
    fn want_addr(n: &str, t: RecordType, v: &str) -> Desired {
        row(n, t, Want::Address { values: vec![v.into()], ttl: 60 }, None)
    }
    fn want_absent(n: &str) -> Desired {
        row(n, RecordType::A, Want::Absent { reason: "stopped".into() }, None)
    }
    fn want_leave(n: &str) -> Desired {
        row(n, RecordType::A, Want::Leave { reason: "stopped".into() }, None)
    }
    fn existing(n: &str, t: &str, ttl: u32, values: &[&str]) -> Existing {
        Existing {
            name: RecordName::from_route53(n),
            rtype: SetType::parse(t),
            ttl: Some(ttl),
            values: values.iter().map(|v| v.to_string()).collect(),
            special: None,
        }
    }
    fn current(records: Vec<Existing>) -> Current {
        let mut c = Current::default();
        for e in records {
            c.add(&zone("Z1"), e);
        }
        c
    }
    /// The ownership rules of a test run: who we are, which orphans it may clean, the valve.
    struct Run {
        owner: &'static str,
        orphans: Orphans,
        force: bool,
    }
    fn rules() -> Run {
        Run { owner: "me", orphans: Orphans::Ignore, force: false }
    }
    /// Plans as the handler does: the registry read from the same records.
    fn plan(desired: &[Desired], current: &Current, run: &Run) -> Plan {
        let registry = Registry::read(current, &Owner { id: run.owner.into(), legacy: Some("legacy".into()) });
        let (gone, configured) = (HashSet::new(), HashSet::new());
        let rules = Rules { orphans: &run.orphans, gone: &gone, force: run.force, configured: &configured };
        super::plan(desired, current, &registry, &rules)
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
                vec![
                    existing("app.example.com.", "A", 60, &["3.1.2.4"]),
                    marker("app.example.com", "me", "i-12345678"),
                ],
                vec![("app.example.com A", Delete)],
                0,
                0,
            ),
            (
                "a record no marker of ours covers is never deleted",
                vec![want_absent("app.example.com")],
                vec![existing("app.example.com.", "A", 60, &["3.1.2.4"])],
                vec![],
                0,
                1,
            ),
            (
                "a type the marker does not list is the user's, the others go on",
                vec![
                    want_addr("app.example.com", A, "3.1.9.9"),
                    row("app.example.com", AAAA, Want::Absent { reason: "no IPv6".into() }, None),
                ],
                vec![
                    existing("app.example.com.", "A", 60, &["3.1.2.4"]),
                    existing("app.example.com.", "AAAA", 60, &["2001:db8::1"]),
                    marker("app.example.com", "me", "i-12345678"),
                ],
                vec![("app.example.com A", Update)],
                0,
                1,
            ),
            (
                "a type the marker does not list is never overwritten",
                vec![want_addr("app.example.com", AAAA, "2600:1f18::1")],
                vec![
                    existing("app.example.com.", "AAAA", 60, &["2001:db8::1"]),
                    marker("app.example.com", "me", "i-12345678"),
                ],
                vec![],
                0,
                1,
            ),
            (
                "an instance EC2 does not know deletes nothing another's marker guards",
                vec![row("app.example.com", A, Want::Unknown { reason: "not known".into() }, None)],
                vec![
                    existing("app.example.com.", "A", 60, &["3.1.2.4"]),
                    marker("app.example.com", "me", "i-87654321"),
                ],
                vec![],
                1,
                0,
            ),
            (
                "an instance EC2 does not know, named by our marker, is gone for good",
                vec![row("app.example.com", A, Want::Unknown { reason: "not known".into() }, None)],
                vec![
                    existing("app.example.com.", "A", 60, &["3.1.2.4"]),
                    marker("app.example.com", "me", "i-12345678"),
                ],
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
    fn a_marker_only_narrowed_keeps_naming_its_instance() {
        // The mapping's id is mistyped and AAAA dropped from its types: the AAAA of ours goes,
        // the A is left, and the marker lists A alone, still naming the instance it names.
        let p = plan(
            &[row("app.example.com", RecordType::A, Want::Unknown { reason: "not known".into() }, None)],
            &current(vec![
                existing("app.example.com.", "A", 60, &["3.1.2.4"]),
                existing("app.example.com.", "AAAA", 60, &["2600::1"]),
                marker_of("app.example.com", "me", "i-87654321", "A+AAAA"),
            ]),
            &rules(),
        );
        assert_eq!(actions(&p), [("app.example.com AAAA".to_string(), Action::Delete)]);
        let marker = p.changes.iter().find(|c| c.is_marker()).expect("the marker narrowed");
        assert_eq!(
            marker.new.as_ref().unwrap().values,
            [format!("\"{HERITAGE},owner=me,instance=i-87654321,types=A\"")]
        );
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
            &current(vec![
                existing("app.example.com.", "A", 120, &["3.1.2.4"]),
                marker("app.example.com", "me", "i-12345678"),
            ]),
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
        let first = plan(&desired, &Current::default(), &rules());
        let applied: Vec<Existing> = first
            .changes
            .iter()
            .map(|c| {
                let d = c.new.clone().unwrap();
                Existing {
                    name: c.name.clone(),
                    rtype: SetType::Ours(c.rtype),
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

    fn discovered(n: &str, want: Want) -> Desired {
        row(n, RecordType::A, want, Some(Claimant { claims: true, launched: None, running: true }))
    }
    fn addr(v: &str) -> Want {
        Want::Address { values: vec![v.into()], ttl: 60 }
    }
    fn gone() -> Want {
        Want::Absent { reason: "instance is terminated".into() }
    }
    fn marker(n: &str, owner: &str, instance: &str) -> Existing {
        marker_of(n, owner, instance, "A")
    }
    fn marker_of(n: &str, owner: &str, instance: &str, types: &str) -> Existing {
        let value = format!("\"{HERITAGE},owner={owner},instance={instance},types={types}\"");
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
            marker_of("old.example.com", "me", "i-12345678", "A+AAAA"),
            existing("theirs.example.com.", "A", 60, &["3.1.2.5"]),
            marker("theirs.example.com", "them", "i-12345678"),
        ]);
        let with = |orphans| Run { owner: "me", orphans, force: false };
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
        // A name someone still wants is no orphan; only its type nobody wants any more goes,
        // and the marker says so.
        let wanted = [discovered("old.example.com", addr("3.1.2.4"))];
        assert_eq!(
            all(&plan(&wanted, &cur, &with(Orphans::All))),
            [
                ("old.example.com AAAA".to_string(), Action::Delete),
                ("_ddns-owner.old.example.com TXT".to_string(), Action::Update)
            ]
        );
    }

    #[test]
    fn changes_say_where_they_come_from() {
        let origins =
            |p: &Plan| p.changes.iter().map(|c| (format!("{} {}", c.name, c.rtype), c.origin)).collect::<Vec<_>>();
        let ours = || marker_of("app.example.com", "me", "i-12345678", "A+AAAA");
        let (a, aaaa) = (
            existing("app.example.com.", "A", 60, &["3.1.2.4"]),
            existing("app.example.com.", "AAAA", 60, &["2600::1"]),
        );
        // The tag's types shrink from A,AAAA to A: the AAAA is a clean-up, the A stays a tag's.
        let p = plan(
            &[discovered("app.example.com", addr("3.1.9.9"))],
            &current(vec![a.clone(), aaaa.clone(), ours()]),
            &rules(),
        );
        assert_eq!(
            origins(&p),
            [
                ("app.example.com AAAA".into(), Origin::Cleanup),
                ("app.example.com A".into(), Origin::Tag),
                ("_ddns-owner.app.example.com TXT".into(), Origin::Tag),
            ],
            "and the marker now names A alone"
        );
        // A user's AAAA beside a name whose marker says only A is ours: never touched.
        let theirs = current(vec![a.clone(), aaaa.clone(), marker("app.example.com", "me", "i-12345678")]);
        let user = plan(&[discovered("app.example.com", addr("3.1.2.4"))], &theirs, &rules());
        assert!(user.changes.is_empty(), "{:?}", user.changes);
        // The instance is gone and the AAAA unwanted: the marker goes last, with the clean-up.
        let p =
            plan(&[discovered("app.example.com", gone())], &current(vec![a.clone(), aaaa.clone(), ours()]), &rules());
        assert_eq!(
            origins(&p),
            [
                ("app.example.com AAAA".into(), Origin::Cleanup),
                ("app.example.com A".into(), Origin::Tag),
                ("_ddns-owner.app.example.com TXT".into(), Origin::Cleanup),
            ]
        );
        // A record nobody marked is not ours: its other types are left alone.
        let p = plan(&[want_addr("app.example.com", RecordType::A, "3.1.2.4")], &current(vec![a, aaaa]), &rules());
        assert_eq!(
            origins(&p),
            [("_ddns-owner.app.example.com TXT".into(), Origin::Mapping)],
            "adopted and marked only"
        );
        let orphan = plan(
            &[],
            &current(vec![
                existing("x.example.com.", "A", 60, &["3.1.2.4"]),
                marker("x.example.com", "me", "i-12345678"),
            ]),
            &Run { orphans: Orphans::All, ..rules() },
        );
        assert!(
            orphan.changes.iter().all(|c| c.origin == Origin::Cleanup && c.action == Action::Delete),
            "{:?}",
            orphan.changes
        );
    }

    #[test]
    fn markers_of_the_earlier_default_owner_are_taken_over_where_wanted() {
        let a = existing("app.example.com.", "A", 60, &["3.1.2.4"]);
        let p = plan(
            &[want_addr("app.example.com", RecordType::A, "3.1.2.4")],
            &current(vec![a.clone(), marker("app.example.com", "legacy", "i-12345678")]),
            &rules(),
        );
        assert_eq!(
            all(&p),
            [("_ddns-owner.app.example.com TXT".to_string(), Action::Update)],
            "rewritten under the new owner"
        );
        assert!(p.changes[0].new.as_ref().unwrap().values[0].contains("owner=me,"));
        // Not wanted, and its instance not seen gone: it may be another region's. Left alone.
        let elsewhere = current(vec![a, marker("app.example.com", "legacy", "i-12345678")]);
        assert!(plan(&[], &elsewhere, &Run { orphans: Orphans::All, ..rules() }).changes.is_empty());
    }

    #[test]
    fn a_release_gives_back_every_name_of_ours_and_nothing_else() {
        let cur = current(vec![
            existing("a.example.com.", "A", 60, &["3.1.2.4"]),
            existing("a.example.com.", "MX", 60, &["10 mx.example.com."]),
            marker("a.example.com", "me", "i-12345678"),
            existing("b.example.com.", "AAAA", 60, &["2600::1"]),
            marker_of("b.example.com", "legacy", "i-12345678", "AAAA"),
            existing("c.example.com.", "A", 60, &["3.1.2.5"]),
            marker("c.example.com", "them", "i-12345678"),
            existing("d.example.com.", "A", 60, &["3.1.2.6"]),
        ]);
        let registry = Registry::read(&cur, &Owner { id: "me".into(), legacy: Some("legacy".into()) });
        let mut got = all(&release_all(&cur, &registry, |o| o.name.as_str() == "b.example.com."));
        got.sort();
        let want: Vec<(String, Action)> =
            ["_ddns-owner.a.example.com TXT", "_ddns-owner.b.example.com TXT", "a.example.com A", "b.example.com AAAA"]
                .iter()
                .map(|n| (n.to_string(), Action::Delete))
                .collect();
        assert_eq!(got, want);
        assert_eq!(release_all(&cur, &registry, |_| false).changes.len(), 2, "a legacy name not configured here stays");
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
        let rules = |force| Run { owner: "me", orphans: Orphans::All, force };
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

    /// `n` group names of ours, each with a set of two addresses and its group marker.
    fn groups(n: usize) -> Vec<Existing> {
        let value = format!("\"{HERITAGE},owner=me,group=true,types=A\"");
        (0..n)
            .flat_map(|i| {
                [
                    existing(&format!("g{i}.example.com."), "A", 60, &["3.1.2.4", "3.1.2.5"]),
                    existing(&format!("_ddns-owner.g{i}.example.com."), "TXT", 60, &[&value]),
                ]
            })
            .collect()
    }

    fn group(n: &str, values: &[&str]) -> Desired {
        let want = if values.is_empty() {
            Want::Absent { reason: "no member of the group is running with a public IPv4 address".into() }
        } else {
            Want::Address { values: values.iter().map(|v| v.to_string()).collect(), ttl: 60 }
        };
        let members = vec![InstanceId::parse("i-00000001").unwrap(), InstanceId::parse("i-00000002").unwrap()];
        Desired { instance: InstanceId::group(), members, ..discovered(n, want) }
    }

    #[test]
    fn a_group_set_changes_only_when_its_members_addresses_do() {
        let run = Run { owner: "me", orphans: Orphans::All, force: false };
        let now = current(groups(1));
        // The same set in another order: nothing to do.
        let p = plan(&[group("g0.example.com", &["3.1.2.5", "3.1.2.4"])], &now, &run);
        assert_eq!((p.changes.len(), p.unchanged), (0, 1));
        // A member leaves: one update, the marker as it is.
        let p = plan(&[group("g0.example.com", &["3.1.2.5"])], &now, &run);
        assert_eq!(all(&p), [("g0.example.com A".to_string(), Action::Update)]);
        assert_eq!(p.changes[0].new.as_ref().unwrap().values, ["3.1.2.5"]);
        // The last leaves: the record, then its marker.
        let p = plan(&[group("g0.example.com", &[])], &now, &run);
        let deleted = [
            ("g0.example.com A".to_string(), Action::Delete),
            ("_ddns-owner.g0.example.com TXT".to_string(), Action::Delete),
        ];
        assert_eq!(all(&p), deleted);
        // Nothing wants it any more (no instance carries the tag): released, as an orphan.
        assert_eq!(all(&plan(&[], &now, &run)), deleted);
        // A new group name gets a marker saying it is a group.
        let p = plan(&[group("new.example.com", &["3.1.2.4"])], &Current::default(), &run);
        let marker = p.changes.iter().find(|c| c.is_marker()).unwrap();
        assert_eq!(marker.new.as_ref().unwrap().values, [format!("\"{HERITAGE},owner=me,group=true,types=A\"")]);
    }

    #[test]
    fn the_safety_valve_counts_a_group_emptied_as_a_deletion() {
        let rules = |force| Run { owner: "me", orphans: Orphans::All, force };
        let empty = |range: std::ops::Range<usize>| -> Vec<Desired> {
            range.map(|i| group(&format!("g{i}.example.com"), &[])).collect()
        };
        // Among 40 names of ours, 12 of 20 groups emptied: fewer than half the names, but more
        // than half the groups.
        let mut held = groups(20);
        held.extend((0..20).flat_map(|i| {
            [
                existing(&format!("h{i}.example.com."), "A", 60, &["3.1.2.4"]),
                marker(&format!("h{i}.example.com"), "me", "i-12345678"),
            ]
        }));
        let mut wanted = empty(0..12);
        wanted.extend((12..20).map(|i| group(&format!("g{i}.example.com"), &["3.1.2.4", "3.1.2.5"])));
        wanted.extend((0..20).map(|i| discovered(&format!("h{i}.example.com"), addr("3.1.2.4"))));
        let p = plan(&wanted, &current(held.clone()), &rules(false));
        assert!(p.blocked.as_deref().unwrap().contains("would empty 12 of the 20 groups"), "{:?}", p.blocked);
        assert_eq!(plan(&wanted, &current(held.clone()), &rules(true)).blocked, None, "forced");
        // 10 of 20 is not more than half; 9 of 12 is fewer than 10.
        let mut ten = empty(0..10);
        ten.extend((10..20).map(|i| group(&format!("g{i}.example.com"), &["3.1.2.4", "3.1.2.5"])));
        ten.extend((0..20).map(|i| discovered(&format!("h{i}.example.com"), addr("3.1.2.4"))));
        assert_eq!(plan(&ten, &current(held), &rules(false)).blocked, None);
        let mut nine = empty(0..9);
        nine.extend((9..12).map(|i| group(&format!("g{i}.example.com"), &["3.1.2.4", "3.1.2.5"])));
        assert_eq!(plan(&nine, &current(groups(12)), &rules(false)).blocked, None);
    }
}
