//! Config + described instances -> the records that should exist, from explicit mappings, from
//! instances' name tags and from their group tags, and the tagged names refused. Pure: the
//! caller does the DescribeInstances and passes what it found.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::{Config, Discovery, Mapping, OnStop};
use crate::instance::{Instance, InstanceState, Instances};
use crate::names::{InstanceId, RecordName, RecordType, Zone, ZoneId};

/// The wanted state of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// The record should hold exactly these addresses (one, but for a group), sorted.
    Address { values: Vec<String>, ttl: u32 },
    /// The record should not exist; the reason is for people.
    Absent { reason: String },
    /// Whatever exists stays as it is.
    Leave { reason: String },
    /// The instance is not known to EC2: its record goes only where our marker names that very
    /// instance (it existed and is gone for good); otherwise it is left as it is. Not known is
    /// never read as gone.
    Unknown { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub zone: ZoneId,
    pub name: RecordName,
    pub rtype: RecordType,
    /// The instance whose address it holds; for a group name, [`InstanceId::group`].
    pub instance: InstanceId,
    /// A group name's members, whose running ones' addresses it holds; empty for one instance.
    pub members: Vec<InstanceId>,
    pub want: Want,
    /// Found through a tag rather than listed by the operator: may only touch records it owns,
    /// and shares the name with every other instance whose tag names it until the registry
    /// settles who holds it. `None` for an operator's mapping.
    pub discovered: Option<Claimant>,
}

/// What a tagged instance's claim on a name weighs when several instances name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claimant {
    /// It is up, or stopped with DDNS_ON_STOP=keep: it still claims the name. An instance that
    /// is shutting down, terminated, or stopped under DDNS_ON_STOP=delete claims nothing.
    pub claims: bool,
    /// When it last started (Unix seconds), when EC2 said.
    pub launched: Option<i64>,
    /// It is running: with no address, it has none to give the name (its Elastic IP moved, say).
    pub running: bool,
}

impl Claimant {
    pub fn of(instance: &Instance, on_stop: OnStop) -> Self {
        let state = instance.state;
        let claims = state.is_up() || (!state.is_gone() && on_stop == OnStop::Keep);
        Self { claims, launched: instance.launched, running: state == InstanceState::Running }
    }
}

/// A tagged name that gets no record, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub instance: InstanceId,
    pub name: String,
    pub reason: String,
}

/// What an invocation wants: the records, the tagged names refused, the tagged names that lie
/// outside every allowed zone (another deployment's business, not a problem of this one), and
/// the groups with more running members than DDNS_GROUP_MAX lets their records hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub records: Vec<Desired>,
    pub refusals: Vec<Refusal>,
    pub outside: Vec<Refusal>,
    pub capped: Vec<Capped>,
}

/// A group whose record holds only the first `max` of its `running` members, by instance id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capped {
    pub name: RecordName,
    pub running: usize,
    pub max: usize,
}

impl Wanted {
    /// Only the records in these zones (the ones that could be read).
    pub fn in_zones(&self, zones: &[ZoneId]) -> Vec<Desired> {
        self.records.iter().filter(|d| zones.contains(&d.zone)).cloned().collect()
    }

    /// Only the records at the names `keep` picks.
    pub fn at(self, keep: impl Fn(&ZoneId, &RecordName) -> bool) -> Vec<Desired> {
        self.records.into_iter().filter(|d| keep(&d.zone, &d.name)).collect()
    }
}

/// The records `mappings` and, in fleet mode, the tagged instances want; `zones` are the
/// configured zones as learned at start-up (their type picks the address).
pub fn wanted(config: &Config, mappings: &[&Mapping], instances: &Instances, zones: &[Zone]) -> Wanted {
    let rules = Rules { ttl: config.default_ttl, on_stop: config.on_stop, group_max: config.group_max };
    let (mapped, capped) = desired(mappings, instances, &rules, zones);
    let mut wanted = match &config.discovery {
        Some(discovery) => discovered(instances, discovery, zones, &config.mappings, &rules),
        None => Wanted::default(),
    };
    let unknown = mapped.iter().filter(|d| matches!(d.want, Want::Unknown { .. }));
    let mut unknown: Vec<Refusal> = unknown
        .map(|d| Refusal {
            instance: d.instance.clone(),
            name: d.name.display(),
            reason: format!(
                "EC2 does not know instance {}; its record is left as it is, and deleted only where this tool's ownership marker names that instance. Check the instance id in DDNS_RECORDS",
                d.instance
            ),
        })
        .collect();
    unknown.dedup();
    wanted.refusals.splice(0..0, unknown);
    wanted.records.splice(0..0, mapped);
    wanted.capped.splice(0..0, capped);
    wanted
}

/// The settings the wanted records follow besides the mappings' own.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// Tagged names' TTL (DDNS_TTL).
    pub ttl: u32,
    pub on_stop: OnStop,
    /// How many addresses a group's record holds at most (DDNS_GROUP_MAX).
    pub group_max: usize,
}

/// Whether an instance that just started shows every address its records need: a `running`
/// event waits briefly for that. An instance that is down again needs nothing more.
pub fn ready(config: &Config, id: &InstanceId, instances: &Instances, zones: &[Zone]) -> bool {
    let Some(instance) = instances.get(id) else { return false };
    if !instance.state.is_up() {
        return true;
    }
    let private = |zone: &ZoneId| zones.iter().any(|z| &z.id == zone && z.private);
    let mapped = config.mappings.iter().filter(|m| m.follows(id));
    let mapped = mapped.flat_map(|m| m.types.iter().map(|t| (*t, m.address.private_in(private(&m.zone)))));
    // A tagged name may go to any allowed zone: every kind of address they call for.
    let tagged = config
        .discovery
        .iter()
        .filter(|_| instance.name_tag.is_some() || instance.group_tag.is_some())
        .flat_map(|d| d.zones.iter().flat_map(|z| d.types.iter().map(|t| (*t, d.address.private_in(private(z))))));
    mapped.chain(tagged).all(|(t, private)| instance.address(t, private).is_some())
}

/// Computes the wanted records for `mappings`, given the instances EC2 returned, and the static
/// groups capped. An instance EC2 no longer knows is treated as terminated.
pub fn desired(
    mappings: &[&Mapping],
    instances: &Instances,
    rules: &Rules,
    zones: &[Zone],
) -> (Vec<Desired>, Vec<Capped>) {
    let (mut out, mut capped) = (Vec::new(), Vec::new());
    for m in mappings {
        let (zone, name) = (&m.zone, &m.name);
        let Some(known) = zones.iter().find(|z| z.id == m.zone) else {
            // A zone whose type is not known is never guessed: what is there is left as it is.
            let leave = Want::Leave { reason: "the hosted zone's type is not known yet".into() };
            let instance = if m.members.is_empty() { m.instance.clone() } else { InstanceId::group() };
            out.extend(m.types.iter().map(|&rtype| Desired {
                zone: zone.clone(),
                name: name.clone(),
                rtype,
                instance: instance.clone(),
                members: m.members.clone(),
                want: leave.clone(),
                discovered: None,
            }));
            continue;
        };
        let private = m.address.private_in(known.private);
        if !m.members.is_empty() {
            let members: Vec<&Instance> = m.members.iter().filter_map(|id| instances.get(id)).collect();
            let group = Group { zone, name, ids: &m.members, members: &members, discovered: None };
            let (records, cap) = group.records(&m.types, private, m.ttl, rules.group_max);
            out.extend(records);
            capped.extend(cap);
            continue;
        }
        for &rtype in &m.types {
            let want = want_for(instances.get(&m.instance), rtype, private, m.ttl, rules.on_stop);
            out.push(Desired {
                zone: zone.clone(),
                name: name.clone(),
                rtype,
                instance: m.instance.clone(),
                members: Vec::new(),
                want,
                discovered: None,
            });
        }
    }
    (out, capped)
}

/// A group name in one zone: its members' ids, those of them described, and, for a group tag,
/// what its claim weighs.
struct Group<'a> {
    zone: &'a ZoneId,
    name: &'a RecordName,
    ids: &'a [InstanceId],
    members: &'a [&'a Instance],
    discovered: Option<Claimant>,
}

impl Group<'_> {
    /// Its records, one per type, and whether more members run than its record holds.
    fn records(&self, types: &[RecordType], private: bool, ttl: u32, max: usize) -> (Vec<Desired>, Option<Capped>) {
        let mut most = 0;
        let records = types
            .iter()
            .map(|&rtype| {
                let (want, running) = group_want(self.members, rtype, private, ttl, max);
                most = most.max(running);
                Desired {
                    zone: self.zone.clone(),
                    name: self.name.clone(),
                    rtype,
                    instance: InstanceId::group(),
                    members: self.ids.to_vec(),
                    want,
                    discovered: self.discovered,
                }
            })
            .collect();
        let capped = (most > max).then(|| Capped { name: self.name.clone(), running: most, max });
        (records, capped)
    }
}

/// What a group name's record of `rtype` wants: the addresses of its running members, of the
/// lowest instance ids when more than `max` run, sorted; absent when none runs. Also how many run
/// with such an address.
fn group_want(members: &[&Instance], rtype: RecordType, private: bool, ttl: u32, max: usize) -> (Want, usize) {
    let mut members: Vec<&&Instance> = members.iter().filter(|i| i.state == InstanceState::Running).collect();
    // The lowest ids by EC2's own id, wherever they run.
    members.sort_by(|a, b| (a.id.bare(), &a.id).cmp(&(b.id.bare(), &b.id)));
    let addresses: Vec<String> = members.iter().filter_map(|i| i.address(rtype, private)).collect();
    let running = addresses.len();
    let mut values: Vec<String> = addresses.into_iter().take(max).collect();
    values.sort_by_key(|v| (v.parse::<IpAddr>().ok(), v.clone()));
    values.dedup();
    if values.is_empty() {
        let reason = format!("no member of the group is running with a {} address", family(rtype, private));
        return (Want::Absent { reason }, running);
    }
    (Want::Address { values, ttl }, running)
}

/// A tag's value with its placeholders filled in for `instance`: `{id}` is its id, `{az}` its
/// availability zone. Any other placeholder is refused, naming it.
pub fn expand(raw: &str, instance: &Instance) -> Result<String, String> {
    if !raw.contains(['{', '}']) {
        return Ok(raw.to_string());
    }
    let mut out = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        if rest[open..].starts_with('}') {
            return Err("a \"}\" with no \"{\" before it; placeholders are {id} and {az}".into());
        }
        let Some(close) = rest[open..].find('}') else {
            return Err("a \"{\" with no \"}\" after it; placeholders are {id} and {az}".into());
        };
        let placeholder = &rest[open..open + close + 1];
        match placeholder {
            "{id}" => out.push_str(instance.id.bare()),
            "{az}" => match &instance.az {
                Some(az) => out.push_str(az),
                None => return Err("{az}: EC2 did not say the instance's availability zone".into()),
            },
            other => return Err(format!("unknown placeholder {other}; only {{id}} and {{az}} are filled in")),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Computes the wanted records of tagged instances: each name an instance's name tag gives, and
/// each group name its group tag gives. A name goes to every allowed zone whose domain is its
/// longest suffix (a public and a private one for split-horizon); a name an explicit mapping of
/// the same kind lists in a zone is left to that mapping there.
pub fn discovered(
    instances: &Instances,
    discovery: &Discovery,
    zones: &[Zone],
    explicit: &[Mapping],
    rules: &Rules,
) -> Wanted {
    // The instances whose name tag names a name, and those whose group tag does.
    let mut claims: HashMap<(&Zone, RecordName), Vec<&Instance>> = HashMap::new();
    let mut groups: HashMap<(&Zone, RecordName), Vec<&Instance>> = HashMap::new();
    let (mut refusals, mut outside) = (Vec::new(), Vec::new());
    let mut sorted: Vec<&Instance> = instances.values().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for instance in sorted {
        for (tag, group) in [(&instance.name_tag, false), (&instance.group_tag, true)] {
            let Some(tag) = tag else { continue };
            for raw in tag.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let refusal =
                    |name: &str, reason| Refusal { instance: instance.id.clone(), name: name.to_string(), reason };
                let expanded = match expand(raw, instance) {
                    Ok(name) => name,
                    Err(reason) => {
                        refusals.push(refusal(raw, reason));
                        continue;
                    }
                };
                let (placed, name) = match place(&expanded, discovery, zones) {
                    Ok(placed) => placed,
                    Err(Unplaced::Refused(reason)) => {
                        refusals.push(refusal(&expanded, reason));
                        continue;
                    }
                    Err(Unplaced::Outside) => {
                        outside.push(refusal(&expanded, "outside every allowed zone (DDNS_ZONES)".into()));
                        continue;
                    }
                };
                for zone in placed {
                    // The operator's mapping wins its name; a tag of the other kind (a group
                    // tag at one instance's mapped name, or a name tag at a static group's) is
                    // refused, naming both.
                    if let Some(m) = explicit.iter().find(|m| m.name == name && m.zone == zone.id) {
                        if m.members.is_empty() == group {
                            let (mine, theirs) = if group {
                                ("a group name", "instance")
                            } else {
                                ("one instance's name", "static group")
                            };
                            let holder =
                                if m.members.is_empty() { m.instance.to_string() } else { member_list(&m.members) };
                            refusals.push(refusal(
                                &expanded,
                                format!("claimed as {mine}, but DDNS_RECORDS gives it to the {theirs} {holder}; the mapping keeps it. Take the name out of the tag or of DDNS_RECORDS"),
                            ));
                        }
                        continue;
                    }
                    let claimants =
                        if group { &mut groups } else { &mut claims }.entry((zone, name.clone())).or_default();
                    if !claimants.iter().any(|i| i.id == instance.id) {
                        claimants.push(instance);
                    }
                }
            }
        }
    }
    // Every instance naming a name is a candidate for it; the registry settles who holds it.
    let mut out = Vec::new();
    for ((zone, name), claimants) in sorted_by_name(claims) {
        let private = discovery.address.private_in(zone.private);
        for instance in claimants {
            let claimant = Some(Claimant::of(instance, rules.on_stop));
            for &rtype in &discovery.types {
                let want = want_for(Some(instance), rtype, private, rules.ttl, rules.on_stop);
                let (zone, name, id) = (zone.id.clone(), name.clone(), instance.id.clone());
                out.push(Desired { zone, name, rtype, instance: id, members: Vec::new(), want, discovered: claimant });
            }
        }
    }
    // A group name holds the addresses of all its running members at once.
    let mut capped = Vec::new();
    for ((zone, name), members) in sorted_by_name(groups) {
        let private = discovery.address.private_in(zone.private);
        let ids: Vec<InstanceId> = members.iter().map(|i| i.id.clone()).collect();
        let discovered = Some(Claimant { claims: true, launched: None, running: true });
        let group = Group { zone: &zone.id, name: &name, ids: &ids, members: &members, discovered };
        let (records, cap) = group.records(&discovery.types, private, rules.ttl, rules.group_max);
        out.extend(records);
        capped.extend(cap);
    }
    Wanted { records: out, refusals, outside, capped }
}

/// A group's members, as a problem names them.
pub fn member_list(members: &[InstanceId]) -> String {
    members.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Claims on names, in the order of zone and name.
fn sorted_by_name<T>(claims: HashMap<(&Zone, RecordName), T>) -> Vec<((&Zone, RecordName), T)> {
    let mut sorted: Vec<_> = claims.into_iter().collect();
    sorted.sort_by(|a, b| (&a.0.0.id, &a.0.1).cmp(&(&b.0.0.id, &b.0.1)));
    sorted
}

/// Why a tagged name gets no zone.
enum Unplaced {
    /// It breaks a rule; the reason says which.
    Refused(String),
    /// It lies in none of the allowed zones.
    Outside,
}

/// Where a tagged name goes: every allowed zone whose domain is its longest suffix (one, or a
/// public and a private one), if the name keeps the rules of what a tag may claim.
fn place<'z>(raw: &str, discovery: &Discovery, zones: &'z [Zone]) -> Result<(Vec<&'z Zone>, RecordName), Unplaced> {
    let name = RecordName::managed(raw).map_err(Unplaced::Refused)?;
    if name.guarded().is_some() {
        return Err(Unplaced::Refused("names under _ddns-owner are reserved for ownership markers".into()));
    }
    let within: Vec<&Zone> =
        zones.iter().filter(|z| discovery.zones.contains(&z.id) && name.is_within(&z.name)).collect();
    let Some(longest) = within.iter().map(|z| z.name.as_str().len()).max() else { return Err(Unplaced::Outside) };
    let placed: Vec<&Zone> = within.into_iter().filter(|z| z.name.as_str().len() == longest).collect();
    let zone_name = &placed[0].name;
    let refuse = |rule: String| Err(Unplaced::Refused(rule));
    let unlock = "set DDNS_TAG_ALLOW_WILDCARDS=true to let tags claim it";
    if !discovery.allow_wildcards && name == *zone_name {
        return refuse(format!("the apex of zone {}; {unlock}", zone_name.display()));
    }
    if !discovery.allow_wildcards && name.as_str().starts_with("\\052.") {
        return refuse(format!("a wildcard name; {unlock}"));
    }
    let below = |suffix: &RecordName| name.is_within(suffix) && name != *suffix;
    if !discovery.suffixes.is_empty() && !discovery.suffixes.iter().any(below) {
        let suffixes: Vec<String> = discovery.suffixes.iter().map(RecordName::display).collect();
        return refuse(format!("not below DDNS_TAG_SUFFIXES ({})", suffixes.join(", ")));
    }
    Ok((placed, name))
}

/// A terminated or vanished instance has given its address back for good, so its records go
/// whatever `on_stop` says; `on_stop` governs a stopped one.
fn want_for(instance: Option<&Instance>, rtype: RecordType, private: bool, ttl: u32, on_stop: OnStop) -> Want {
    let gone = |reason: String| match on_stop {
        OnStop::Delete => Want::Absent { reason },
        OnStop::Keep => Want::Leave { reason },
    };
    let Some(instance) = instance else {
        return Want::Unknown { reason: "instance not known to EC2".into() };
    };
    match (instance.state, instance.address(rtype, private)) {
        (state, _) if state.is_gone() => Want::Absent { reason: format!("instance is {state}") },
        (InstanceState::Running | InstanceState::Pending, Some(value)) => Want::Address { values: vec![value], ttl },
        (InstanceState::Running, None) => gone(format!("instance has no {} address", family(rtype, private))),
        (InstanceState::Pending, None) => Want::Leave { reason: "instance is starting".into() },
        (state, _) => gone(format!("instance is {state}")),
    }
}

fn family(rtype: RecordType, private: bool) -> &'static str {
    match rtype {
        RecordType::A if private => "private IPv4",
        RecordType::A => "public IPv4",
        RecordType::AAAA => "IPv6",
        RecordType::TXT => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AddressChoice;

    fn mapping(types: Vec<RecordType>) -> Mapping {
        Mapping {
            instance: InstanceId::parse("i-12345678").unwrap(),
            members: Vec::new(),
            zone: ZoneId::parse("Z1").unwrap(),
            name: RecordName::parse("app.example.com").unwrap(),
            ttl: 60,
            types,
            address: AddressChoice::Auto,
        }
    }

    fn instance(state: &str, v4: Option<&str>, v6: Option<&str>) -> Instances {
        let id = InstanceId::parse("i-12345678").unwrap();
        let i = Instance {
            id: id.clone(),
            state: InstanceState::parse(state).unwrap(),
            ipv4: v4.map(|s| s.parse().unwrap()),
            private_ipv4: Some("10.0.0.5".parse().unwrap()),
            ipv6: v6.map(|s| s.parse().unwrap()),
            name_tag: None,
            group_tag: None,
            az: None,
            launched: None,
        };
        HashMap::from([(id, i)])
    }

    fn wants(m: &Mapping, instances: &Instances, on_stop: OnStop) -> Vec<Want> {
        let public = [Zone::public(m.zone.clone(), RecordName::parse("example.com").unwrap())];
        desired(&[m], instances, &rules(on_stop), &public).0.into_iter().map(|d| d.want).collect()
    }

    #[test]
    fn a_zone_whose_type_is_not_known_is_never_guessed() {
        let m = mapping(vec![RecordType::A]);
        for on_stop in [OnStop::Delete, OnStop::Keep] {
            let (rows, _) = desired(&[&m], &instance("running", Some("3.1.2.4"), None), &rules(on_stop), &[]);
            assert!(
                rows.iter().all(|d| matches!(&d.want, Want::Leave { reason } if reason.contains("type is not known"))),
                "{rows:?}"
            );
        }
    }

    type Case = (&'static str, Vec<RecordType>, Instances, OnStop, Vec<Want>);

    #[test]
    fn table() {
        use RecordType::*;
        let addr = |v: &str| Want::Address { values: vec![v.into()], ttl: 60 };
        let absent = |r: &str| Want::Absent { reason: r.into() };
        let leave = |r: &str| Want::Leave { reason: r.into() };
        let unknown = || Want::Unknown { reason: "instance not known to EC2".into() };
        let cases: Vec<Case> = vec![
            ("running v4", vec![A], instance("running", Some("3.1.2.4"), None), OnStop::Delete, vec![addr("3.1.2.4")]),
            (
                "running both",
                vec![A, AAAA],
                instance("running", Some("3.1.2.4"), Some("2600:1f18::1")),
                OnStop::Delete,
                vec![addr("3.1.2.4"), addr("2600:1f18::1")],
            ),
            (
                "running no v6",
                vec![A, AAAA],
                instance("running", Some("3.1.2.4"), None),
                OnStop::Delete,
                vec![addr("3.1.2.4"), absent("instance has no IPv6 address")],
            ),
            (
                "running no v6, keep",
                vec![AAAA],
                instance("running", Some("3.1.2.4"), None),
                OnStop::Keep,
                vec![leave("instance has no IPv6 address")],
            ),
            ("stopped", vec![A], instance("stopped", None, None), OnStop::Delete, vec![absent("instance is stopped")]),
            (
                "stopped, keep",
                vec![A],
                instance("stopped", None, None),
                OnStop::Keep,
                vec![leave("instance is stopped")],
            ),
            (
                "stopping still holds ip",
                vec![A],
                instance("stopping", Some("3.1.2.4"), None),
                OnStop::Delete,
                vec![absent("instance is stopping")],
            ),
            (
                "terminated",
                vec![A],
                instance("terminated", None, None),
                OnStop::Delete,
                vec![absent("instance is terminated")],
            ),
            ("not known to EC2", vec![A], HashMap::new(), OnStop::Delete, vec![unknown()]),
            ("not known to EC2, keep: the same", vec![A], HashMap::new(), OnStop::Keep, vec![unknown()]),
            (
                "terminated, keep: deleted all the same",
                vec![A, AAAA],
                instance("terminated", None, None),
                OnStop::Keep,
                vec![absent("instance is terminated"), absent("instance is terminated")],
            ),
            (
                "pending without ip",
                vec![A],
                instance("pending", None, None),
                OnStop::Delete,
                vec![leave("instance is starting")],
            ),
            (
                "pending with ip",
                vec![A],
                instance("pending", Some("3.1.2.4"), None),
                OnStop::Delete,
                vec![addr("3.1.2.4")],
            ),
        ];
        for (label, types, instances, on_stop, want) in cases {
            assert_eq!(wants(&mapping(types), &instances, on_stop), want, "{label}");
        }
    }
}

#[cfg(test)]
mod address_tests {
    use super::*;
    use crate::config::AddressChoice::{self, *};

    #[test]
    fn the_address_follows_the_zone_type_unless_the_choice_says_otherwise() {
        let id = InstanceId::parse("i-12345678").unwrap();
        let zones = |private| {
            vec![Zone { id: ZoneId::parse("Z1").unwrap(), name: RecordName::parse("example.com").unwrap(), private }]
        };
        let instance = |state: &str| Instance {
            id: id.clone(),
            state: InstanceState::parse(state).unwrap(),
            ipv4: (state == "running").then(|| "3.1.2.4".parse().unwrap()),
            private_ipv4: (state != "terminated").then(|| "10.0.0.5".parse().unwrap()),
            ipv6: (state == "running").then(|| "2600::1".parse().unwrap()),
            name_tag: None,
            group_tag: None,
            az: None,
            launched: None,
        };
        let addr = |v: &str| Want::Address { values: vec![v.into()], ttl: 60 };
        let absent = |r: &str| Want::Absent { reason: r.into() };
        let leave = |r: &str| Want::Leave { reason: r.into() };
        // (private zone, address, state, on_stop, A, AAAA)
        type Case = (bool, AddressChoice, &'static str, OnStop, Want, Want);
        let cases: Vec<Case> = vec![
            (false, Auto, "running", OnStop::Delete, addr("3.1.2.4"), addr("2600::1")),
            (false, Public, "running", OnStop::Delete, addr("3.1.2.4"), addr("2600::1")),
            (false, Private, "running", OnStop::Delete, addr("10.0.0.5"), addr("2600::1")),
            (true, Auto, "running", OnStop::Delete, addr("10.0.0.5"), addr("2600::1")),
            (true, Private, "running", OnStop::Delete, addr("10.0.0.5"), addr("2600::1")),
            (true, Public, "running", OnStop::Delete, addr("3.1.2.4"), addr("2600::1")),
            (true, Auto, "stopped", OnStop::Delete, absent("instance is stopped"), absent("instance is stopped")),
            (true, Auto, "stopped", OnStop::Keep, leave("instance is stopped"), leave("instance is stopped")),
            (
                true,
                Auto,
                "terminated",
                OnStop::Keep,
                absent("instance is terminated"),
                absent("instance is terminated"),
            ),
            (
                false,
                Auto,
                "terminated",
                OnStop::Keep,
                absent("instance is terminated"),
                absent("instance is terminated"),
            ),
        ];
        for (private, address, state, on_stop, a, aaaa) in cases {
            let m = Mapping {
                instance: id.clone(),
                members: Vec::new(),
                zone: ZoneId::parse("Z1").unwrap(),
                name: RecordName::parse("app.example.com").unwrap(),
                ttl: 60,
                types: vec![RecordType::A, RecordType::AAAA],
                address,
            };
            let instances = HashMap::from([(id.clone(), instance(state))]);
            let wants: Vec<Want> =
                desired(&[&m], &instances, &rules(on_stop), &zones(private)).0.into_iter().map(|d| d.want).collect();
            assert_eq!(wants, [a, aaaa], "private zone {private}, {address:?}, {state}, {on_stop:?}");
        }
        let mut stopped_v4 = instance("running");
        stopped_v4.private_ipv4 = None;
        let m = Mapping {
            instance: id.clone(),
            members: Vec::new(),
            zone: ZoneId::parse("Z1").unwrap(),
            name: RecordName::parse("app.example.com").unwrap(),
            ttl: 60,
            types: vec![RecordType::A],
            address: Auto,
        };
        let wants: Vec<Want> =
            desired(&[&m], &HashMap::from([(id.clone(), stopped_v4)]), &rules(OnStop::Delete), &zones(true))
                .0
                .into_iter()
                .map(|d| d.want)
                .collect();
        assert_eq!(wants, [absent("instance has no private IPv4 address")]);
    }
}

#[cfg(test)]
mod ready_tests {
    use super::*;
    use crate::config::AddressChoice;

    fn config(types: &[RecordType], tag_types: Option<&[RecordType]>) -> Config {
        let mut c = Config::from_lookup(|k| {
            (k == "DDNS_RECORDS")
                .then(|| r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com"}]"#.into())
        })
        .unwrap();
        c.mappings[0].types = types.to_vec();
        c.discovery = tag_types.map(|t| Discovery {
            tag_key: Some("ddns:name".into()),
            group_key: Some("ddns:group".into()),
            types: t.to_vec(),
            zones: vec![ZoneId::parse("Z1").unwrap()],
            suffixes: vec![],
            allow_wildcards: false,
            address: AddressChoice::Auto,
        });
        c
    }

    fn with(state: &str, v4: bool, v6: bool, tag: bool) -> Instances {
        let id = InstanceId::parse("i-12345678").unwrap();
        let i = Instance {
            id: id.clone(),
            state: InstanceState::parse(state).unwrap(),
            ipv4: v4.then(|| "3.1.2.4".parse().unwrap()),
            private_ipv4: Some("10.0.0.5".parse().unwrap()),
            ipv6: v6.then(|| "2600::1".parse().unwrap()),
            name_tag: tag.then(|| "t.example.com".into()),
            group_tag: None,
            az: None,
            launched: None,
        };
        HashMap::from([(id, i)])
    }

    #[test]
    fn a_started_instance_is_ready_when_every_address_its_records_need_shows() {
        use RecordType::*;
        let id = InstanceId::parse("i-12345678").unwrap();
        for (label, config, instances, want) in [
            ("not described yet", config(&[A], None), Instances::new(), false),
            ("no address yet", config(&[A], None), with("running", false, false, false), false),
            ("v4 shows", config(&[A], None), with("pending", true, false, false), true),
            ("v6 missing", config(&[A, AAAA], None), with("running", true, false, false), false),
            ("both show", config(&[A, AAAA], None), with("running", true, true, false), true),
            ("tag wants v6", config(&[A], Some(&[AAAA])), with("running", true, false, true), false),
            (
                "untagged: the tag's types do not count",
                config(&[A], Some(&[AAAA])),
                with("running", true, false, false),
                true,
            ),
            ("stopped again", config(&[A], None), with("stopped", false, false, false), true),
        ] {
            assert_eq!(ready(&config, &id, &instances, &[]), want, "{label}");
        }
    }
}

#[cfg(test)]
mod discovery_tests {
    use super::*;
    use crate::config::AddressChoice;

    fn tagged(id: &str, state: &str, tag: Option<&str>) -> Instance {
        Instance {
            id: InstanceId::parse(id).unwrap(),
            state: InstanceState::parse(state).unwrap(),
            ipv4: Some("3.1.2.4".parse().unwrap()),
            private_ipv4: Some("10.0.0.5".parse().unwrap()),
            ipv6: None,
            name_tag: tag.map(str::to_string),
            group_tag: None,
            az: Some("eu-west-1a".into()),
            launched: None,
        }
    }

    fn zones() -> Vec<Zone> {
        let zone = |id: &str, name: &str| Zone::public(ZoneId::parse(id).unwrap(), RecordName::parse(name).unwrap());
        vec![zone("ZCOM", "example.com"), zone("ZDEV", "dev.example.com"), zone("ZORG", "example.org")]
    }

    fn discovery(allowed: &[&str]) -> Discovery {
        Discovery {
            tag_key: Some("ddns:name".into()),
            group_key: Some("ddns:group".into()),
            types: vec![RecordType::A],
            zones: allowed.iter().map(|z| ZoneId::parse(z).unwrap()).collect(),
            suffixes: vec![],
            allow_wildcards: false,
            address: AddressChoice::Auto,
        }
    }

    fn run(
        instances: Vec<Instance>,
        allowed: &[&str],
        explicit: &[Mapping],
        on_stop: OnStop,
    ) -> (Vec<Desired>, Vec<Refusal>) {
        let w = run_all(instances, allowed, explicit, on_stop);
        (w.records, w.refusals)
    }

    fn run_all(instances: Vec<Instance>, allowed: &[&str], explicit: &[Mapping], on_stop: OnStop) -> Wanted {
        let map = instances.into_iter().map(|i| (i.id.clone(), i)).collect();
        discovered(&map, &discovery(allowed), &zones(), explicit, &rules(on_stop))
    }

    #[test]
    fn names_go_to_the_longest_allowed_suffix() {
        let w = run_all(
            vec![tagged("i-00000001", "running", Some("a.example.com, b.dev.example.com,c.example.org"))],
            &["ZCOM", "ZDEV"],
            &[],
            OnStop::Delete,
        );
        let placed: Vec<(String, String)> = w.records.iter().map(|d| (d.name.display(), d.zone.to_string())).collect();
        assert_eq!(placed, [("a.example.com".into(), "ZCOM".into()), ("b.dev.example.com".into(), "ZDEV".into())]);
        assert!(w.records.iter().all(|d| d.discovered.is_some()));
        assert!(w.refusals.is_empty(), "a name in another deployment's zone is no refusal");
        assert_eq!(w.outside.len(), 1);
        assert_eq!(w.outside[0].name, "c.example.org");
        assert!(w.outside[0].reason.contains("outside every allowed zone"));
    }

    #[test]
    fn what_a_tag_may_claim() {
        let rules = |suffixes: &[&str], allow_wildcards| Discovery {
            suffixes: suffixes.iter().map(|s| RecordName::parse(s).unwrap()).collect(),
            allow_wildcards,
            ..discovery(&["ZCOM"])
        };
        let tag = "example.com,*.example.com,login.example.com,a.dyn.example.com,*.dyn.example.com,dyn.example.com";
        let outcome = |d: &Discovery| {
            let instances = [(id_of("i-00000001"), tagged("i-00000001", "running", Some(tag)))].into_iter().collect();
            let w = discovered(&instances, d, &zones(), &[], &super::rules(OnStop::Delete));
            let placed: Vec<String> = w.records.iter().map(|d| d.name.display()).collect();
            let refused: Vec<String> = w.refusals.iter().map(|r| format!("{}: {}", r.name, r.reason)).collect();
            (placed, refused)
        };
        let (placed, refused) = outcome(&rules(&[], false));
        assert_eq!(placed, ["a.dyn.example.com", "dyn.example.com", "login.example.com"]);
        assert_eq!(
            refused,
            [
                "example.com: the apex of zone example.com; set DDNS_TAG_ALLOW_WILDCARDS=true to let tags claim it",
                "*.example.com: a wildcard name; set DDNS_TAG_ALLOW_WILDCARDS=true to let tags claim it",
                "*.dyn.example.com: a wildcard name; set DDNS_TAG_ALLOW_WILDCARDS=true to let tags claim it",
            ]
        );
        let (placed, refused) = outcome(&rules(&["dyn.example.com"], false));
        assert_eq!(placed, ["a.dyn.example.com"]);
        assert!(
            refused.contains(&"login.example.com: not below DDNS_TAG_SUFFIXES (dyn.example.com)".to_string()),
            "{refused:?}"
        );
        assert!(
            refused.contains(&"dyn.example.com: not below DDNS_TAG_SUFFIXES (dyn.example.com)".to_string()),
            "{refused:?}"
        );
        let (placed, _) = outcome(&rules(&["dyn.example.com"], true));
        assert_eq!(placed, ["*.dyn.example.com", "a.dyn.example.com"]);
        let (placed, refused) = outcome(&rules(&[], true));
        assert_eq!(placed.len(), 6, "every rule unlocked: {refused:?}");
    }

    fn id_of(id: &str) -> InstanceId {
        InstanceId::parse(id).unwrap()
    }

    #[test]
    fn a_disallowed_deeper_zone_falls_back_to_an_allowed_parent() {
        let (d, _) =
            run(vec![tagged("i-00000001", "running", Some("b.dev.example.com"))], &["ZCOM"], &[], OnStop::Delete);
        assert_eq!(d[0].zone.as_str(), "ZCOM");
    }

    #[test]
    fn untagged_instances_get_nothing_and_bad_names_are_refused() {
        let (d, r) = run(
            vec![
                tagged("i-00000001", "running", None),
                tagged("i-00000002", "running", Some("bad name.example.com,_ddns-owner.x.example.com")),
            ],
            &["ZCOM"],
            &[],
            OnStop::Delete,
        );
        assert!(d.is_empty());
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn an_explicit_mapping_wins_its_name() {
        let explicit = [Mapping {
            instance: InstanceId::parse("i-00000009").unwrap(),
            members: Vec::new(),
            zone: ZoneId::parse("ZCOM").unwrap(),
            name: RecordName::parse("a.example.com").unwrap(),
            ttl: 60,
            types: vec![RecordType::A],
            address: AddressChoice::Auto,
        }];
        let (d, r) = run(
            vec![tagged("i-00000001", "running", Some("a.example.com,b.example.com"))],
            &["ZCOM"],
            &explicit,
            OnStop::Delete,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name.display(), "b.example.com");
        assert!(r.is_empty());
    }

    #[test]
    fn every_instance_naming_a_name_is_a_candidate_for_the_registry_to_settle() {
        let mut late = tagged("i-00000001", "running", Some("a.example.com"));
        late.launched = Some(200);
        let (d, r) = run(
            vec![
                late,
                tagged("i-00000002", "running", Some("A.example.com.")),
                tagged("i-00000003", "terminated", Some("a.example.com")),
            ],
            &["ZCOM"],
            &[],
            OnStop::Delete,
        );
        let candidates: Vec<(&str, Option<Claimant>)> = d.iter().map(|d| (d.instance.as_str(), d.discovered)).collect();
        assert_eq!(
            candidates,
            [
                ("i-00000001", Some(Claimant { claims: true, launched: Some(200), running: true })),
                ("i-00000002", Some(Claimant { claims: true, launched: None, running: true })),
                ("i-00000003", Some(Claimant { claims: false, launched: None, running: false })),
            ]
        );
        assert!(r.is_empty(), "sharing a name is for the registry to settle: {r:?}");
    }

    fn member(id: &str, state: &str, ip: &str, group: &str) -> Instance {
        Instance {
            ipv4: (state == "running").then(|| ip.parse().unwrap()),
            group_tag: Some(group.into()),
            ..tagged(id, state, None)
        }
    }

    fn group_of(instances: Vec<Instance>, max: usize) -> Wanted {
        let map = instances.into_iter().map(|i| (i.id.clone(), i)).collect();
        discovered(
            &map,
            &discovery(&["ZCOM"]),
            &zones(),
            &[],
            &Rules { group_max: max, ..super::rules(OnStop::Delete) },
        )
    }

    #[test]
    fn a_group_name_holds_its_running_members_addresses_in_any_order_they_come() {
        let members = vec![
            member("i-00000003", "running", "3.0.0.30", "web.example.com"),
            member("i-00000001", "running", "3.0.0.4", "web.example.com, all.example.com"),
            member("i-00000002", "stopped", "3.0.0.2", "web.example.com"),
            member("i-00000004", "pending", "3.0.0.5", "web.example.com"),
        ];
        let w = group_of(members.clone(), 8);
        let web: Vec<&Desired> = w.records.iter().filter(|d| d.name.display() == "web.example.com").collect();
        assert_eq!(web.len(), 1, "one record set per type");
        assert!(web[0].instance.is_group());
        assert_eq!(
            web[0].want,
            Want::Address { values: vec!["3.0.0.4".into(), "3.0.0.30".into()], ttl: 60 },
            "sorted as addresses"
        );
        assert_eq!(web[0].members.len(), 4, "every member carrying the tag, running or not");
        let all: Vec<&Desired> = w.records.iter().filter(|d| d.name.display() == "all.example.com").collect();
        assert_eq!(all[0].want, Want::Address { values: vec!["3.0.0.4".into()], ttl: 60 });
        // Any order of the instances gives the same records.
        for rotation in 1..members.len() {
            let mut turned = members.clone();
            turned.rotate_left(rotation);
            assert_eq!(group_of(turned, 8), w, "rotated by {rotation}");
        }
        // No member running: the record goes.
        let w = group_of(vec![member("i-00000002", "stopped", "3.0.0.2", "web.example.com")], 8);
        assert!(matches!(&w.records[0].want, Want::Absent { reason } if reason.contains("no member")), "{w:?}");
        assert!(w.capped.is_empty());
    }

    #[test]
    fn a_group_holds_the_lowest_ids_addresses_up_to_the_cap() {
        let members: Vec<Instance> = (1..=5)
            .map(|i| member(&format!("i-0000000{i}"), "running", &format!("3.0.0.{}", 10 - i), "web.example.com"))
            .collect();
        let w = group_of(members, 2);
        assert_eq!(w.records[0].want, Want::Address { values: vec!["3.0.0.8".into(), "3.0.0.9".into()], ttl: 60 });
        assert_eq!(w.capped, [Capped { name: RecordName::parse("web.example.com").unwrap(), running: 5, max: 2 }]);
    }

    #[test]
    fn a_name_tag_and_a_group_tag_on_one_name_both_go_to_the_registry() {
        let mut both = member("i-00000001", "running", "3.0.0.1", "web.example.com");
        both.name_tag = Some("web.example.com".into());
        let w = group_of(vec![both], 8);
        let holders: Vec<bool> = w.records.iter().map(|d| d.instance.is_group()).collect();
        assert_eq!(holders, [false, true], "the registry refuses the clash");
    }

    #[test]
    fn templates_fill_in_the_id_and_the_zone_and_refuse_anything_else() {
        let i = tagged("i-0123456789abcdef0", "running", None);
        for (raw, want) in [
            ("{id}.nodes.example.com", Ok("i-0123456789abcdef0.nodes.example.com")),
            ("{az}.{id}.example.com", Ok("eu-west-1a.i-0123456789abcdef0.example.com")),
            ("web.example.com", Ok("web.example.com")),
            ("{name}.example.com", Err("unknown placeholder {name}; only {id} and {az} are filled in")),
            ("{ID}.example.com", Err("unknown placeholder {ID}; only {id} and {az} are filled in")),
            ("{}.example.com", Err("unknown placeholder {}; only {id} and {az} are filled in")),
            ("{id.example.com", Err("a \"{\" with no \"}\" after it; placeholders are {id} and {az}")),
            ("id}.example.com", Err("a \"}\" with no \"{\" before it; placeholders are {id} and {az}")),
        ] {
            assert_eq!(expand(raw, &i).as_deref(), want.map_err(str::to_string).as_deref(), "{raw}");
        }
        let nowhere = Instance { az: None, ..i };
        assert!(expand("{az}.example.com", &nowhere).unwrap_err().contains("availability zone"));
    }

    #[test]
    fn a_templates_result_keeps_the_name_rules() {
        let w = run_all(
            vec![tagged(
                "i-00000001",
                "running",
                Some("{id}.example.com, {id}, *.{id}.example.com, {id}..example.com"),
            )],
            &["ZCOM"],
            &[],
            OnStop::Delete,
        );
        let placed: Vec<String> = w.records.iter().map(|d| d.name.display()).collect();
        assert_eq!(placed, ["i-00000001.example.com"]);
        let refused: Vec<&str> = w.refusals.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(refused, ["i-00000001", "*.i-00000001.example.com", "i-00000001..example.com"], "{:?}", w.refusals);
        assert!(w.refusals[0].reason.contains("not a fully qualified name"), "{:?}", w.refusals);
    }

    #[test]
    fn who_still_claims_a_name() {
        for (state, on_stop, claims) in [
            ("pending", OnStop::Delete, true),
            ("running", OnStop::Delete, true),
            ("stopping", OnStop::Delete, false),
            ("stopped", OnStop::Delete, false),
            ("stopped", OnStop::Keep, true),
            ("shutting-down", OnStop::Keep, false),
            ("terminated", OnStop::Keep, false),
        ] {
            let claimant = Claimant::of(&tagged("i-00000001", state, None), on_stop);
            assert_eq!(claimant.claims, claims, "{state} {on_stop:?}");
        }
    }

    #[test]
    fn terminated_always_loses_stopped_follows_the_policy() {
        for (state, on_stop, absent) in [
            ("terminated", OnStop::Keep, true),
            ("stopped", OnStop::Keep, false),
            ("stopped", OnStop::Delete, true),
            ("running", OnStop::Delete, false),
        ] {
            let (d, _) = run(vec![tagged("i-00000001", state, Some("a.example.com"))], &["ZCOM"], &[], on_stop);
            assert_eq!(matches!(d[0].want, Want::Absent { .. }), absent, "{state} {on_stop:?}");
        }
    }
}

#[cfg(test)]
fn rules(on_stop: OnStop) -> Rules {
    Rules { ttl: 60, on_stop, group_max: crate::config::DEFAULT_GROUP_MAX }
}
