//! The verdict on one name over the cross-product of what decides it: the kind of claimant
//! (mapping, name tag, group tag, static group) x its state (pending, running, stopping,
//! stopped, shutting-down, terminated, not known to EC2) x whether it has an address x the
//! marker at the name (none, ours naming it, ours naming an instance gone for good, another
//! owner's, an earlier default's) x DDNS_ON_STOP. Each world is planned through the public
//! stages as a sweep plans it (desired -> registry -> plan), the changes applied to the zone,
//! and the ownership rules checked on what the zone then holds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;

use dynamic_dns_updater::config::Config;
use dynamic_dns_updater::desired;
use dynamic_dns_updater::instance::{Instance, InstanceState, Instances};
use dynamic_dns_updater::names::{InstanceId, RecordName, RecordType, Zone, ZoneId};
use dynamic_dns_updater::plan::{self, Rules};
use dynamic_dns_updater::records::{Action, Current, Existing, SetType};
use dynamic_dns_updater::registry::{Owner, Registry, marker_value};
use dynamic_dns_updater::scope::Orphans;

const NAME: &str = "web.example.com";
const X: &str = "i-0000000a";
/// The instance an earlier holder was: terminated, its address given back.
const Y: &str = "i-0000000b";
const X_ADDRESS: &str = "192.0.2.10";
const RELEASED: &str = "192.0.2.99";
const USERS_AAAA: &str = "2001:db8::1";
const USERS_MX: &str = "10 mail.example.com.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Mapping,
    NameTag,
    GroupTag,
    StaticGroup,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    None,
    /// Ours, naming this claimant (the group, for a group).
    OursNamingIt,
    /// Ours, naming Y, which is terminated.
    OursNamingAnother,
    Foreign,
    /// Under the earlier default owner id, naming this claimant.
    Legacy,
}

#[derive(Clone, Copy, Debug)]
struct World {
    kind: Kind,
    /// `None`: EC2 does not know the instance.
    state: Option<InstanceState>,
    addressed: bool,
    marker: Marker,
    keep: bool,
    /// The types asked for are A and AAAA (the instance has no IPv6; the user's AAAA is there).
    aaaa: bool,
}

fn id(i: &str) -> InstanceId {
    InstanceId::parse(i).unwrap()
}
fn zone() -> ZoneId {
    ZoneId::parse("Z1").unwrap()
}
fn name() -> RecordName {
    RecordName::parse(NAME).unwrap()
}

impl World {
    fn config(&self) -> Config {
        let mut vars: Vec<(&str, String)> = vec![("DDNS_ON_STOP", if self.keep { "keep" } else { "delete" }.into())];
        let types = if self.aaaa { r#"["A","AAAA"]"# } else { r#"["A"]"# };
        if self.aaaa && matches!(self.kind, Kind::NameTag | Kind::GroupTag) {
            vars.push(("DDNS_TAG_TYPES", "A,AAAA".into()));
        }
        match self.kind {
            Kind::Mapping => vars.push((
                "DDNS_RECORDS",
                format!(r#"[{{"instance_id":"{X}","zone_id":"Z1","name":"{NAME}","types":{types}}}]"#),
            )),
            Kind::StaticGroup => vars.push((
                "DDNS_RECORDS",
                format!(r#"[{{"instance_ids":["{X}"],"zone_id":"Z1","name":"{NAME}","types":{types}}}]"#),
            )),
            Kind::NameTag => vars.extend([("DDNS_TAG_KEY", "ddns:name".into()), ("DDNS_ZONES", "Z1".into())]),
            Kind::GroupTag => vars.extend([("DDNS_GROUP_TAG_KEY", "ddns:group".into()), ("DDNS_ZONES", "Z1".into())]),
        }
        Config::from_lookup(|k| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone())).expect("valid config")
    }

    fn instances(&self) -> Instances {
        let instance = |i: &str, state, ipv4: Option<&str>| Instance {
            id: id(i),
            state,
            ipv4: ipv4.map(|a| a.parse::<Ipv4Addr>().unwrap()),
            private_ipv4: None,
            ipv6: None,
            name_tag: (self.kind == Kind::NameTag).then(|| NAME.to_string()),
            group_tag: (self.kind == Kind::GroupTag).then(|| NAME.to_string()),
            az: Some("us-east-1a".into()),
            launched: Some(100),
        };
        let mut out = HashMap::from([(
            id(Y),
            Instance { name_tag: None, group_tag: None, ..instance(Y, InstanceState::Terminated, None) },
        )]);
        if let Some(state) = self.state {
            out.insert(id(X), instance(X, state, self.addressed.then_some(X_ADDRESS)));
        }
        out
    }

    fn grouped(&self) -> bool {
        matches!(self.kind, Kind::GroupTag | Kind::StaticGroup)
    }

    /// The zone before the sweep: the user's own AAAA and MX at the name always; with a marker,
    /// an A record holding the address the marker's instance had.
    fn zone(&self) -> BTreeMap<(String, String), Vec<String>> {
        let mut z = BTreeMap::from([
            ((NAME.to_string(), "AAAA".to_string()), vec![USERS_AAAA.to_string()]),
            ((NAME.to_string(), "MX".to_string()), vec![USERS_MX.to_string()]),
        ]);
        let holder = if self.grouped() { InstanceId::group() } else { id(X) };
        let marker = match self.marker {
            Marker::None => return z,
            Marker::OursNamingIt => marker_value("me", &holder, &[RecordType::A]),
            Marker::OursNamingAnother => marker_value("me", &id(Y), &[RecordType::A]),
            Marker::Foreign => marker_value("them", &holder, &[RecordType::A]),
            Marker::Legacy => marker_value("legacy", &holder, &[RecordType::A]),
        };
        z.insert((NAME.to_string(), "A".to_string()), vec![RELEASED.to_string()]);
        z.insert((name().marker().as_str().trim_end_matches('.').to_string(), "TXT".to_string()), vec![marker]);
        z
    }

    /// Plans a sweep over this world with the zone holding `records`.
    fn plan(&self, records: &BTreeMap<(String, String), Vec<String>>) -> plan::Plan {
        let config = self.config();
        let instances = self.instances();
        let zones = [Zone::public(zone(), RecordName::parse("example.com").unwrap())];
        let mappings: Vec<_> = config.mappings.iter().collect();
        let wanted = desired::wanted(&config, &mappings, &instances, &zones);
        let mut current = Current::default();
        for ((n, t), values) in records {
            let existing = Existing {
                name: RecordName::from_route53(&format!("{n}.")),
                rtype: SetType::parse(t),
                ttl: Some(60),
                values: values.clone(),
                special: None,
            };
            current.add(&zone(), existing);
        }
        let registry = Registry::read(&current, &Owner { id: "me".into(), legacy: Some("legacy".into()) });
        let gone: HashSet<InstanceId> =
            instances.values().filter(|i| i.state.is_gone()).map(|i| i.id.clone()).collect();
        let configured = config.configured_names();
        let rules = Rules { orphans: &Orphans::All, gone: &gone, force: false, configured: &configured };
        let plan = plan::plan(&wanted.records, &current, &registry, &rules);
        assert!(plan.blocked.is_none(), "{self:?}: {plan:?}");
        plan
    }

    /// Plans a sweep over this world and returns the zone after its changes, as Route53 would
    /// leave it (a delete must match what is there).
    fn sweep(&self) -> (BTreeMap<(String, String), Vec<String>>, plan::Plan) {
        let mut records = self.zone();
        let plan = self.plan(&records);
        for c in &plan.changes {
            let key = (c.name.as_str().trim_end_matches('.').to_string(), c.rtype.as_str().to_string());
            match (c.action, &c.new) {
                (Action::Delete, _) => {
                    let old = records.remove(&key);
                    assert_eq!(old.as_ref(), c.old.as_ref().map(|d| &d.values), "{self:?}: a delete must match");
                }
                (_, Some(new)) => {
                    records.insert(key, new.values.clone());
                }
                (_, None) => panic!("{self:?}: a write without values: {c:?}"),
            }
        }
        (records, plan)
    }
}

fn worlds() -> Vec<World> {
    use InstanceState::*;
    let states =
        [Some(Pending), Some(Running), Some(Stopping), Some(Stopped), Some(ShuttingDown), Some(Terminated), None];
    let markers = [Marker::None, Marker::OursNamingIt, Marker::OursNamingAnother, Marker::Foreign, Marker::Legacy];
    let mut out = Vec::new();
    for kind in [Kind::Mapping, Kind::NameTag, Kind::GroupTag, Kind::StaticGroup] {
        for state in states {
            for addressed in [true, false] {
                for marker in markers {
                    for keep in [false, true] {
                        for aaaa in [false, true] {
                            out.push(World { kind, state, addressed, marker, keep, aaaa });
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_combination_keeps_the_ownership_rules() {
    let worlds = worlds();
    assert_eq!(worlds.len(), 4 * 7 * 2 * 5 * 2 * 2);
    for w in worlds {
        let before = w.zone();
        let (after, plan) = w.sweep();
        let a = after.get(&(NAME.to_string(), "A".to_string()));
        // A record of a type we do not own is never touched, nor is anything of another owner.
        for t in ["AAAA", "MX"] {
            let key = (NAME.to_string(), t.to_string());
            assert_eq!(after.get(&key), before.get(&key), "{w:?}: the user's {t} changed: {:?}", plan.changes);
        }
        if w.marker == Marker::Foreign {
            assert_eq!(after, before, "{w:?}: another owner's name changed");
            continue;
        }
        let up = w.state.is_some_and(|s| if w.grouped() { s == InstanceState::Running } else { s.is_up() });
        // A claimant that is up and has an address holds the name, with its address.
        // A tag never takes a free name where a record of a type it wants already stands: the
        // whole name is the user's, and said so.
        let users_name = w.marker == Marker::None && w.aaaa && matches!(w.kind, Kind::NameTag | Kind::GroupTag);
        if users_name && w.state.is_some() {
            assert!(after == before && !plan.conflicts.is_empty(), "{w:?}: {plan:?}");
            continue;
        }
        if up && w.addressed {
            assert_eq!(
                a,
                Some(&vec![X_ADDRESS.to_string()]),
                "{w:?}: the holder's name is not its address: {:?}",
                plan.changes
            );
        }
        // A name never keeps an address its holder gave back for good: Y is terminated.
        if w.marker == Marker::OursNamingAnother && !(w.state.is_none() && w.kind == Kind::Mapping) {
            assert_ne!(a, Some(&vec![RELEASED.to_string()]), "{w:?}: the released address is still there: {:?}", plan);
        }
        // Not known is never read as gone: an id EC2 does not know deletes only what our marker
        // says was that very instance's.
        if w.state.is_none() && w.kind == Kind::Mapping && w.marker == Marker::OursNamingAnother {
            assert_eq!(a, before.get(&(NAME.to_string(), "A".to_string())), "{w:?}: not known read as gone");
            assert!(
                plan.refusals.is_empty() || plan.refusals.iter().any(|r| r.reason.contains("does not know")),
                "{w:?}"
            );
        }
        // Nothing of ours stands without the marker that says it is ours.
        let marker = after.get(&(name().marker().as_str().trim_end_matches('.').to_string(), "TXT".to_string()));
        if a.is_some() {
            assert!(marker.is_some(), "{w:?}: an A record without a marker: {:?}", plan.changes);
        }
    }
}

#[test]
fn a_sweep_over_what_a_sweep_left_changes_nothing() {
    for w in worlds() {
        let (after, _) = w.sweep();
        let again = w.plan(&after);
        assert!(again.changes.is_empty(), "{w:?}: a second sweep changes {:?}", again.changes);
    }
}
