//! Trigger + config -> what one invocation covers: which mappings and instances, which zones it
//! reads whole, and which orphaned names it may clean up. Pure; a trigger that covers nothing
//! gets a note saying why.

use crate::config::{Config, Mapping};
use crate::event::{AddressTarget, Trigger};
use crate::instance::{InstanceState, Instances};
use crate::names::{InstanceId, ZoneId};

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    pub mappings: Vec<&'a Mapping>,
    /// Instances to describe by id.
    pub ids: Vec<InstanceId>,
    /// Describe every tagged instance too (a fleet sweep).
    pub all_tagged: bool,
    /// Zones read whole, to find markers whose names nothing wants any more.
    pub whole_zones: Vec<ZoneId>,
    pub orphans: Orphans,
    /// After a `running` event: the instance whose public addresses are awaited.
    pub awaits: Option<InstanceId>,
    /// It covers every record the config and the tags ask for (a sweep).
    pub full: bool,
}

/// The records a trigger covers, or a note on why it covers none. The first sweep of a process
/// also reads the mappings' zones whole: a configuration change always starts a new process,
/// so that is when names that are ours but no longer configured are found; it stays so until
/// such a clean-up went through whole, and every DDNS_FULL_READ after (`read_whole`).
pub fn scope<'a>(config: &'a Config, trigger: &Trigger, read_whole: bool) -> Result<Scope<'a>, String> {
    let of = |id: &InstanceId| config.mappings.iter().filter(|m| m.follows(id)).collect::<Vec<_>>();
    // An instance and, when it is in a static group, the group's other members.
    let with_members = |id: &InstanceId| {
        let mut ids = vec![id.clone()];
        ids.extend(of(id).into_iter().flat_map(|m| &m.members).filter(|m| *m != id).cloned());
        ids.sort();
        ids.dedup();
        ids
    };
    let fleet_zones = config.discovery.as_ref().map(|d| d.zones.clone()).unwrap_or_default();
    let fleet = config.discovery.is_some();
    let one = |id: &InstanceId, whole_zones: bool| Scope {
        mappings: of(id),
        ids: with_members(id),
        all_tagged: false,
        whole_zones: if whole_zones { fleet_zones.clone() } else { Vec::new() },
        orphans: if whole_zones { Orphans::Of(vec![id.clone()]) } else { Orphans::Ignore },
        awaits: None,
        full: false,
    };
    match trigger {
        // Records go at `stopping` and `shutting-down`, before the address is given back; the
        // state is read from EC2 all the same, so a late event cannot undo a newer one.
        Trigger::StateChange { state: InstanceState::Pending, .. } => Err("state pending needs no DNS change".into()),
        Trigger::StateChange { instance, state } => {
            if of(instance).is_empty() && !fleet {
                return Err(format!("instance {instance} is not configured"));
            }
            let awaits = (*state == InstanceState::Running).then(|| instance.clone());
            Ok(Scope { awaits, ..one(instance, false) })
        }
        Trigger::TagChange { instance, changed_keys } => match &config.discovery {
            None => Err("tag discovery is off (neither DDNS_TAG_KEY nor DDNS_GROUP_TAG_KEY is set)".into()),
            Some(d) if !d.keys().iter().any(|k| changed_keys.iter().any(|c| c == k)) => {
                Err(format!("tag {} did not change", d.keys().join(" nor ")))
            }
            // Its old names are known only from the markers, so read the allowed zones whole; a
            // group it left is known only as a group marker, so every group's may be cleaned up.
            Some(d) => {
                let regrouped = d.group_key.as_ref().is_some_and(|k| changed_keys.contains(k));
                let mut scope = one(instance, true);
                if let (true, Orphans::Of(ids)) = (regrouped, &mut scope.orphans) {
                    ids.push(InstanceId::group());
                }
                Ok(scope)
            }
        },
        Trigger::Schedule => Ok(sweep(config, read_whole)),
        // A forced reconcile does the first sweep's whole clean-up, wherever it runs.
        Trigger::Manual { instance_ids: None, force, .. } => Ok(sweep(config, read_whole || *force)),
        Trigger::Manual { instance_ids: Some(ids), .. } => {
            let unknown: Vec<String> = ids.iter().filter(|id| of(id).is_empty()).map(ToString::to_string).collect();
            if !unknown.is_empty() && !fleet {
                return Err(format!("not configured: {}", unknown.join(", ")));
            }
            // A static group's mapping once, however many of its members are named.
            let mut mappings: Vec<&Mapping> = ids.iter().flat_map(of).collect();
            mappings.sort_by_key(|m| std::ptr::from_ref(*m));
            mappings.dedup_by(|a, b| std::ptr::eq(*a, *b));
            let mut described: Vec<InstanceId> = ids.iter().flat_map(with_members).collect();
            described.sort();
            described.dedup();
            Ok(Scope {
                ids: described,
                mappings,
                all_tagged: false,
                whole_zones: fleet_zones,
                orphans: if fleet { Orphans::Of(ids.clone()) } else { Orphans::Ignore },
                awaits: None,
                full: false,
            })
        }
        Trigger::AddressChange { target: AddressTarget::Instance(instance), .. }
        | Trigger::SpotWarning { instance, .. } => {
            if of(instance).is_empty() && !fleet {
                return Err(format!("instance {instance} is not configured"));
            }
            Ok(one(instance, false))
        }
        Trigger::AddressChange { target: AddressTarget::Interface(eni), .. } => {
            Err(format!("network interface {eni} must be looked up first"))
        }
        // An Elastic IP let go by its association id names no instance: everything, as a sweep.
        Trigger::AddressChange { target: AddressTarget::Unknown, .. } => {
            Ok(Scope { full: false, ..sweep(config, false) })
        }
        Trigger::Ignored { note } => Err(note.clone()),
        Trigger::TestWebhook => Err("a test alert changes no DNS".into()),
        Trigger::Release { .. } => Err("a release is no reconcile".into()),
        Trigger::Deployed => Err("the records are released when this deployment is destroyed".into()),
    }
}

/// The instances as the records should see them: a Spot instance warned of its interruption
/// is taken as already on its way (stopping, or shutting down), so that its names go before its
/// address does. Pure.
pub fn as_it_will_be(trigger: &Trigger, mut instances: Instances) -> Instances {
    if let Trigger::SpotWarning { instance, action } = trigger
        && let Some(i) = instances.get_mut(instance)
        && i.state.is_up()
    {
        i.state = action.leaving();
    }
    instances
}

/// A sweep: every mapping, every tagged instance in fleet mode. It reads the configured zones
/// whole when `read_whole` (the first sweep of a process, and then every DDNS_FULL_READ); other
/// sweeps read only the names they want and those the process knows our markers guard.
fn sweep(config: &Config, read_whole: bool) -> Scope<'_> {
    let mut ids: Vec<InstanceId> = config.mappings.iter().flat_map(|m| m.ids().iter().cloned()).collect();
    ids.sort();
    ids.dedup();
    let fleet = config.discovery.as_ref();
    let whole_zones = if read_whole { config.zones() } else { Vec::new() };
    Scope {
        mappings: config.mappings.iter().collect(),
        ids,
        all_tagged: fleet.is_some(),
        whole_zones,
        orphans: if fleet.is_some() || read_whole { Orphans::All } else { Orphans::Ignore },
        awaits: None,
        full: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Instance;

    const A: &str = "i-0000000a";
    const B: &str = "i-0000000b";

    fn config(fleet: bool) -> Config {
        let records = format!(
            r#"[{{"instance_id":"{A}","zone_id":"ZA","name":"a.example.com"}},{{"instance_id":"{B}","zone_id":"ZA","name":"b.example.com"}},{{"instance_id":"{A}","zone_id":"ZB","name":"a.example.org"}}]"#
        );
        let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_TAG_KEY", "ddns:name"), ("DDNS_ZONES", "ZA,ZC")];
        let vars = if fleet { &vars[..] } else { &vars[..1] };
        Config::from_lookup(|k| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())).unwrap()
    }

    fn id(s: &str) -> InstanceId {
        InstanceId::parse(s).unwrap()
    }

    fn state(instance: &str, state: InstanceState) -> Trigger {
        Trigger::StateChange { instance: id(instance), state }
    }

    /// What a scope covers, in short: names, ids, all tagged, whole zones, orphans, awaited.
    type Summary = (Vec<String>, Vec<String>, bool, Vec<String>, Orphans, Option<InstanceId>);

    fn summary(s: Scope) -> Summary {
        (
            s.mappings.iter().map(|m| m.name.display()).collect(),
            s.ids.iter().map(ToString::to_string).collect(),
            s.all_tagged,
            s.whole_zones.iter().map(ToString::to_string).collect(),
            s.orphans,
            s.awaits,
        )
    }

    #[test]
    fn what_each_trigger_covers() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tag =
            |instance: &str, key: &str| Trigger::TagChange { instance: id(instance), changed_keys: vec![key.into()] };
        let manual = |ids: Option<Vec<&str>>| Trigger::Manual {
            instance_ids: ids.map(|v| v.into_iter().map(id).collect()),
            dry_run: false,
            force: false,
        };
        let cases: Vec<(&str, bool, Trigger, Summary)> = vec![
            (
                "running: that instance's mappings, awaiting its addresses",
                false,
                state(A, InstanceState::Running),
                (names(&["a.example.com", "a.example.org"]), names(&[A]), false, vec![], Orphans::Ignore, Some(id(A))),
            ),
            (
                "stopped: no waiting",
                false,
                state(B, InstanceState::Stopped),
                (names(&["b.example.com"]), names(&[B]), false, vec![], Orphans::Ignore, None),
            ),
            (
                "fleet: an unlisted instance may carry the tag",
                true,
                state("i-0000000c", InstanceState::Terminated),
                (vec![], names(&["i-0000000c"]), false, vec![], Orphans::Ignore, None),
            ),
            (
                "tag change: the allowed zones whole, that instance's orphans",
                true,
                tag(A, "ddns:name"),
                (
                    names(&["a.example.com", "a.example.org"]),
                    names(&[A]),
                    false,
                    names(&["ZA", "ZC"]),
                    Orphans::Of(vec![id(A)]),
                    None,
                ),
            ),
            (
                "sweep: everything, once per instance",
                false,
                Trigger::Schedule,
                (
                    names(&["a.example.com", "b.example.com", "a.example.org"]),
                    names(&[A, B]),
                    false,
                    vec![],
                    Orphans::Ignore,
                    None,
                ),
            ),
            (
                "fleet sweep: every tagged instance and every orphan, by name between whole reads",
                true,
                manual(None),
                (
                    names(&["a.example.com", "b.example.com", "a.example.org"]),
                    names(&[A, B]),
                    true,
                    vec![],
                    Orphans::All,
                    None,
                ),
            ),
            (
                "manual with ids",
                false,
                manual(Some(vec![B])),
                (names(&["b.example.com"]), names(&[B]), false, vec![], Orphans::Ignore, None),
            ),
        ];
        for (label, fleet, trigger, want) in cases {
            assert_eq!(summary(scope(&config(fleet), &trigger, false).unwrap()), want, "{label}");
        }
    }

    #[test]
    fn the_first_sweep_reads_the_mappings_zones_whole_for_names_no_longer_configured() {
        let (static_only, fleet) = (config(false), config(true));
        let first = scope(&static_only, &Trigger::Schedule, true).unwrap();
        let zones: Vec<&str> = first.whole_zones.iter().map(ZoneId::as_str).collect();
        assert_eq!((zones, first.orphans), (vec!["ZA", "ZB"], Orphans::All));
        let later = scope(&static_only, &Trigger::Schedule, false).unwrap();
        assert_eq!((later.whole_zones.len(), later.orphans), (0, Orphans::Ignore), "then only the names");
        let event = scope(&static_only, &state(A, InstanceState::Stopped), true).unwrap();
        assert_eq!(event.whole_zones.len(), 0, "an event is no sweep");
        let zones: Vec<String> =
            scope(&fleet, &Trigger::Schedule, true).unwrap().whole_zones.iter().map(ToString::to_string).collect();
        assert_eq!(zones, ["ZA", "ZB", "ZC"]);
        let warm = scope(&fleet, &Trigger::Schedule, false).unwrap();
        assert_eq!((warm.whole_zones.len(), warm.orphans), (0, Orphans::All), "a warm fleet sweep reads by name");
    }

    #[test]
    fn addresses_go_before_the_instance_gives_them_back() {
        use crate::event::SpotAction;
        let config = config(false);
        for leaving in [InstanceState::Stopping, InstanceState::ShuttingDown] {
            let s = scope(&config, &state(A, leaving), false).unwrap();
            assert_eq!(summary(s).1, [A.to_string()], "{leaving} is acted on");
        }
        let address = Trigger::AddressChange { target: AddressTarget::Instance(id(B)), cause: "elastic ip associated" };
        assert_eq!(summary(scope(&config, &address, false).unwrap()).0, ["b.example.com"]);
        let unknown = Trigger::AddressChange { target: AddressTarget::Unknown, cause: "elastic ip disassociated" };
        let every = scope(&config, &unknown, false).unwrap();
        assert_eq!((every.mappings.len(), every.full), (3, false), "every record, as by a sweep");
        let instance = |state| Instance {
            id: id(A),
            state,
            ipv4: None,
            private_ipv4: None,
            ipv6: None,
            name_tag: None,
            group_tag: None,
            az: None,
            launched: None,
        };
        for (action, running, after) in [
            (SpotAction::Terminate, InstanceState::Running, InstanceState::ShuttingDown),
            (SpotAction::Stop, InstanceState::Running, InstanceState::Stopping),
            (SpotAction::Hibernate, InstanceState::Pending, InstanceState::Stopping),
            (SpotAction::Stop, InstanceState::Stopped, InstanceState::Stopped),
        ] {
            let warned = Trigger::SpotWarning { instance: id(A), action };
            let seen = as_it_will_be(&warned, Instances::from([(id(A), instance(running))]));
            assert_eq!(seen[&id(A)].state, after, "{action:?} from {running}");
        }
    }

    #[test]
    fn only_a_sweep_covers_everything() {
        let manual = |ids: Option<Vec<InstanceId>>| Trigger::Manual { instance_ids: ids, dry_run: false, force: false };
        for (trigger, full) in [
            (Trigger::Schedule, true),
            (manual(None), true),
            (manual(Some(vec![id(A)])), false),
            (state(A, InstanceState::Running), false),
            (Trigger::TagChange { instance: id(A), changed_keys: vec!["ddns:name".into()] }, false),
        ] {
            assert_eq!(scope(&config(true), &trigger, false).unwrap().full, full, "{trigger:?}");
        }
    }

    #[test]
    fn triggers_that_cover_nothing_say_why() {
        let cases = [
            (false, state(A, InstanceState::Pending), "state pending needs no DNS change"),
            (
                false,
                Trigger::Ignored { note: "AssociateAddress failed (X); no address changed".into() },
                "AssociateAddress failed (X); no address changed",
            ),
            (false, state("i-0000000c", InstanceState::Running), "instance i-0000000c is not configured"),
            (
                false,
                Trigger::TagChange { instance: id(A), changed_keys: vec![] },
                "tag discovery is off (neither DDNS_TAG_KEY nor DDNS_GROUP_TAG_KEY is set)",
            ),
            (
                true,
                Trigger::TagChange { instance: id(A), changed_keys: vec!["Name".into()] },
                "tag ddns:name did not change",
            ),
            (
                false,
                Trigger::Manual { instance_ids: Some(vec![id("i-0000000c")]), dry_run: true, force: false },
                "not configured: i-0000000c",
            ),
            (false, Trigger::TestWebhook, "a test alert changes no DNS"),
        ];
        for (fleet, trigger, note) in cases {
            assert_eq!(scope(&config(fleet), &trigger, false).unwrap_err(), note, "{trigger:?}");
        }
    }
}
