//! Property test of the pure stages (desired -> registry -> plan), no AWS: instances sharing one
//! tagged name start, stop, terminate and gain or lose the tag, and their events arrive late and
//! in any order. No step ever deletes or takes over a record whose marker names an instance that
//! is up and still claims the name; after the events and one sweep, the name is held by one of
//! its claimants (the only one when there is one, as a sweep from scratch would choose), or gone
//! when nothing claims it, and a further sweep changes nothing. The same histories for a group
//! name: its record is never deleted while a member is up and carries the group tag, and after
//! the events and one sweep it holds exactly the running members' addresses.

mod support;

use std::collections::{BTreeMap, HashSet};

use dynamic_dns_updater::config::Config;
use dynamic_dns_updater::desired;
use dynamic_dns_updater::instance::{Instance, InstanceState, Instances};
use dynamic_dns_updater::names::{InstanceId, RecordName, RecordType, Zone, ZoneId};
use dynamic_dns_updater::plan::{self, Rules};
use dynamic_dns_updater::records::{Action, Change, Current, Existing, SetType};
use dynamic_dns_updater::registry::{Owner, Registry};
use dynamic_dns_updater::scope::Orphans;
use proptest::prelude::*;

const WEB: &str = "web.example.com";

/// What happens to an instance in the world.
#[derive(Clone, Copy, Debug)]
enum Step {
    Start,
    Stop,
    Terminate,
    Tag,
    Untag,
}

/// The world: EC2's instances as they are now, and the zone.
struct World {
    instances: Instances,
    zone: BTreeMap<(RecordName, RecordType), Vec<String>>,
    clock: i64,
    config: Config,
    zones: Vec<Zone>,
    /// The instances name the name with the group tag rather than the name tag.
    group: bool,
}

fn zone_id() -> ZoneId {
    ZoneId::parse("ZWEB").unwrap()
}

fn web() -> RecordName {
    RecordName::parse(WEB).unwrap()
}

fn owner() -> Owner {
    Owner { id: "ordering".into(), legacy: None }
}

impl World {
    fn new(n: usize) -> Self {
        Self::of(n, false)
    }

    fn of(n: usize, group: bool) -> Self {
        let key = if group { "DDNS_GROUP_TAG_KEY" } else { "DDNS_TAG_KEY" };
        let vars = [(key, "ddns:name"), ("DDNS_ZONES", "ZWEB"), ("DDNS_OWNER_ID", "ordering")];
        let config = support::config(&vars);
        let zones = vec![Zone::public(zone_id(), RecordName::parse("example.com").unwrap())];
        let mut w = Self { instances: Instances::new(), zone: BTreeMap::new(), clock: 0, config, zones, group };
        for i in 0..n {
            let id = InstanceId::parse(&format!("i-0000000{i}")).unwrap();
            let instance = Instance {
                id: id.clone(),
                state: InstanceState::Running,
                ipv4: None,
                private_ipv4: None,
                ipv6: None,
                name_tag: (!group).then(|| WEB.into()),
                group_tag: group.then(|| WEB.into()),
                az: None,
                launched: None,
            };
            w.instances.insert(id.clone(), instance);
            w.start(&id);
        }
        w
    }

    /// Starts an instance: a new address, a new launch time.
    fn start(&mut self, id: &InstanceId) {
        self.clock += 1;
        let clock = self.clock;
        let i = self.instances.get_mut(id).unwrap();
        i.state = InstanceState::Running;
        i.ipv4 = Some(format!("3.0.0.{clock}").parse().unwrap());
        i.launched = Some(clock);
    }

    /// Applies a step to the world; returns whether it happened (a terminated instance stays so).
    fn happen(&mut self, id: &InstanceId, step: Step) -> bool {
        let i = &self.instances[id];
        if i.state == InstanceState::Terminated {
            return false;
        }
        match step {
            Step::Start if i.state == InstanceState::Running => return false,
            Step::Start => self.start(id),
            Step::Stop | Step::Terminate => {
                let i = self.instances.get_mut(id).unwrap();
                i.state = if matches!(step, Step::Stop) { InstanceState::Stopped } else { InstanceState::Terminated };
                i.ipv4 = None;
            }
            Step::Tag | Step::Untag => *self.tag_of(id) = matches!(step, Step::Tag).then(|| WEB.into()),
        }
        true
    }

    /// The tag that names the name.
    fn tag_of(&mut self, id: &InstanceId) -> &mut Option<String> {
        let i = self.instances.get_mut(id).unwrap();
        if self.group { &mut i.group_tag } else { &mut i.name_tag }
    }

    fn tagged(&self, i: &Instance) -> bool {
        if self.group { i.group_tag.is_some() } else { i.name_tag.is_some() }
    }

    /// Whether `id` is up and its tag names the name: a claimant nothing may take the name from.
    fn claims(&self, id: &str) -> bool {
        self.instances.values().any(|i| i.id.as_str() == id && i.state.is_up() && self.tagged(i))
    }

    /// Whether some member of the group is up and carries the tag.
    fn a_member_is_up(&self) -> bool {
        self.instances.values().any(|i| i.state.is_up() && self.tagged(i))
    }

    fn current(&self) -> Current {
        let mut c = Current::default();
        for ((name, rtype), values) in &self.zone {
            let set = Existing {
                name: name.clone(),
                rtype: SetType::Ours(*rtype),
                ttl: Some(60),
                values: values.clone(),
                special: None,
            };
            c.add(&zone_id(), set);
        }
        c
    }

    fn holder(&self) -> Option<String> {
        let marker = self.zone.get(&(web().marker(), RecordType::TXT))?;
        let text = marker.concat();
        text.split(',').find_map(|kv| kv.strip_prefix("instance=")).map(|i| i.trim_matches('"').to_string())
    }

    /// One invocation as the handler runs it: an event about `about` (a sweep when `None`)
    /// describes that instance, looks around as the registry asks, settles and plans. Checks
    /// that nothing is taken from a live claimant, then applies the changes to the zone. A tag
    /// change of the group tag may clean up every group's orphan, as its scope says.
    fn invoke(&mut self, about: Option<&InstanceId>) -> Vec<Change> {
        self.invoke_as(about, false)
    }

    fn invoke_as(&mut self, about: Option<&InstanceId>, tag_change: bool) -> Vec<Change> {
        let (all_tagged, orphans) = match about {
            None => (true, Orphans::All),
            Some(id) if tag_change && self.group => (false, Orphans::Of(vec![id.clone(), InstanceId::group()])),
            Some(id) => (false, Orphans::Of(vec![id.clone()])),
        };
        let described: Instances = self
            .instances
            .values()
            .filter(|i| about.map_or(self.tagged(i), |id| &i.id == id))
            .map(|i| (i.id.clone(), i.clone()))
            .collect();
        let current = self.current();
        let registry = Registry::read(&current, &owner());
        let wanted = desired::wanted(&self.config, &[], &described, &self.zones);
        let both = self.config.discovery.as_ref().is_some_and(|d| d.tag_key.is_some() && d.group_key.is_some());
        let look =
            registry.look_around(&wanted.records, &orphans, all_tagged, true, both, |i| described.contains_key(i));
        let mut seen = described;
        for id in &look.ids {
            if let Some(i) = self.instances.get(id) {
                seen.insert(id.clone(), i.clone());
            }
        }
        if look.tagged || look.grouped {
            for i in self.instances.values().filter(|i| self.tagged(i)) {
                seen.entry(i.id.clone()).or_insert_with(|| i.clone());
            }
        }
        let records = desired::wanted(&self.config, &[], &seen, &self.zones)
            .at(|z, n| look.names.binary_search(&(z.clone(), n.clone())).is_ok());
        let gone: HashSet<InstanceId> = seen.values().filter(|i| i.state.is_gone()).map(|i| i.id.clone()).collect();
        let configured = self.config.configured_names();
        let rules = Rules { orphans: &orphans, gone: &gone, force: false, configured: &configured };
        let plan = plan::plan(&records, &current, &registry, &rules);
        assert!(plan.blocked.is_none());
        let holder = self.holder();
        if self.group {
            for c in plan.changes.iter().filter(|c| c.action == Action::Delete) {
                assert!(!self.a_member_is_up(), "{c:?} deletes the group's name while a member is up");
            }
        }
        for c in plan.changes.iter().filter(|_| !self.group) {
            let taken =
                c.action == Action::Delete || (c.is_marker() && c.instance.as_str() != holder.as_deref().unwrap_or(""));
            if let (true, Some(h)) = (taken, &holder) {
                assert!(!self.claims(h), "{c:?} takes the name from {h}, which is up and claims it");
            }
        }
        for c in &plan.changes {
            let key = (c.name.clone(), c.rtype);
            match &c.new {
                Some(data) => self.zone.insert(key, data.values.clone()),
                None => self.zone.remove(&key),
            };
        }
        plan.changes
    }

    /// What the name holds: the address and the marker's instance.
    fn state(&self) -> (Option<Vec<String>>, Option<String>) {
        (self.zone.get(&(web(), RecordType::A)).cloned(), self.holder())
    }
}

fn steps() -> impl Strategy<Value = Vec<(usize, Step, bool)>> {
    let step =
        prop_oneof![Just(Step::Start), Just(Step::Stop), Just(Step::Terminate), Just(Step::Tag), Just(Step::Untag)];
    // (which instance, what happens, whether one late event is delivered before the next step)
    prop::collection::vec((0usize..3, step, any::<bool>()), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_order_of_late_events_keeps_live_names_and_ends_as_a_sweep_would(
        n in 2usize..=3,
        history in steps(),
        delivery in prop::collection::vec(any::<prop::sample::Index>(), 16),
    ) {
        let mut w = World::new(n);
        w.invoke(None);
        let mut ids: Vec<InstanceId> = w.instances.keys().cloned().collect();
        ids.sort();
        let mut pending: Vec<InstanceId> = Vec::new();
        let mut picks = delivery.iter();
        let mut deliver = |w: &mut World, pending: &mut Vec<InstanceId>| {
            if let (false, Some(pick)) = (pending.is_empty(), picks.next()) {
                let id = pending.remove(pick.index(pending.len()));
                w.invoke(Some(&id));
            }
        };
        for (which, step, late) in history {
            let id = ids[which % n].clone();
            if w.happen(&id, step) {
                pending.push(id);
            }
            if late {
                deliver(&mut w, &mut pending);
            }
        }
        while !pending.is_empty() {
            let before = pending.len();
            deliver(&mut w, &mut pending);
            if pending.len() == before {
                let id = pending.remove(0);
                w.invoke(Some(&id));
            }
        }
        w.invoke(None);
        let (address, holder) = w.state();
        let claimants: Vec<&Instance> =
            w.instances.values().filter(|i| i.state.is_up() && i.name_tag.is_some()).collect();
        match claimants.as_slice() {
            [] => prop_assert_eq!((address, holder), (None, None), "nothing claims the name: it is gone"),
            [only] => prop_assert_eq!(
                (address, holder),
                (Some(vec![only.ipv4.unwrap().to_string()]), Some(only.id.to_string())),
                "its only claimant holds it, as a sweep from scratch gives"
            ),
            several => {
                let held = several.iter().find(|i| Some(i.id.to_string()) == holder);
                prop_assert!(held.is_some(), "one of the claimants holds it: {:?}", holder);
                prop_assert_eq!(address, Some(vec![held.unwrap().ipv4.unwrap().to_string()]));
            }
        }
        prop_assert!(w.invoke(None).is_empty(), "a further sweep changes nothing");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_order_of_late_events_keeps_a_group_name_while_a_member_is_up_and_ends_with_its_members(
        n in 2usize..=3,
        history in steps(),
        delivery in prop::collection::vec(any::<prop::sample::Index>(), 16),
    ) {
        let mut w = World::of(n, true);
        w.invoke(None);
        let mut ids: Vec<InstanceId> = w.instances.keys().cloned().collect();
        ids.sort();
        // Each event: the instance, and whether it is a tag change.
        let mut pending: Vec<(InstanceId, bool)> = Vec::new();
        let mut picks = delivery.iter();
        for (which, step, late) in history {
            let id = ids[which % n].clone();
            if w.happen(&id, step) {
                pending.push((id, matches!(step, Step::Tag | Step::Untag)));
            }
            if let (true, false, Some(pick)) = (late, pending.is_empty(), picks.next()) {
                let (id, tag_change) = pending.remove(pick.index(pending.len()));
                w.invoke_as(Some(&id), tag_change);
            }
        }
        for (id, tag_change) in std::mem::take(&mut pending).into_iter().rev() {
            w.invoke_as(Some(&id), tag_change);
        }
        w.invoke(None);
        let mut running: Vec<String> = w
            .instances
            .values()
            .filter(|i| i.state == InstanceState::Running && i.group_tag.is_some())
            .map(|i| i.ipv4.unwrap().to_string())
            .collect();
        running.sort_by_key(|a| a.parse::<std::net::IpAddr>().ok());
        let (address, holder) = w.state();
        if running.is_empty() {
            prop_assert_eq!((address, holder), (None, None), "no member runs: the name is gone");
        } else {
            prop_assert_eq!(address, Some(running), "the running members' addresses, sorted");
            prop_assert_eq!(holder, None, "a group's marker names no instance");
            let marker = w.zone.get(&(web().marker(), RecordType::TXT)).unwrap().concat();
            prop_assert!(marker.contains("group=true"), "{}", marker);
        }
        prop_assert!(w.invoke(None).is_empty(), "a further sweep changes nothing");
    }
}

#[test]
fn from_scratch_the_earliest_started_claimant_takes_the_name() {
    let mut w = World::new(3);
    let first = w.instances.values().min_by_key(|i| i.launched).unwrap().id.to_string();
    w.invoke(None);
    assert_eq!(w.state().1, Some(first));
}
