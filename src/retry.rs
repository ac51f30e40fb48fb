//! The second chance for names Route53 rejected, as when a record moved since it was read
//! (another invocation wrote it first): which names to read and plan again (pure), the second
//! pass itself, and how its outcomes take the place of the first (pure). It never widens what a
//! run may delete, and plans only on a fresh look at the instances it touches.

use tracing::info;

use crate::app::App;
use crate::budget::Budget;
use crate::desired::{self, Desired};
use crate::event::Trigger;
use crate::failure::{Failure, FailureKind};
use crate::names::{InstanceId, RecordName, ZoneId};
use crate::plan::{self, Rules};
use crate::records::Outcome;
use crate::registry::Registry;
use crate::route53::{apply, read};
use crate::scope::{self, Scope};
use crate::{ec2, report};

/// The (zone, name) groups with a change Route53 rejected, each once.
pub fn rejected(outcomes: &[Outcome]) -> Vec<(ZoneId, RecordName)> {
    let mut names: Vec<(ZoneId, RecordName)> = outcomes
        .iter()
        .filter(|o| o.result.as_ref().is_err_and(|f| f.kind == FailureKind::Route53Rejected))
        .map(|o| o.change.group_key())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The first outcomes, with those of the `names` tried again replaced by the `second` ones.
pub fn replace(first: Vec<Outcome>, names: &[(ZoneId, RecordName)], second: Vec<Outcome>) -> Vec<Outcome> {
    first.into_iter().filter(|o| !names.contains(&o.change.group_key())).chain(second).collect()
}

/// The outcomes after the second chance, and what the second pass added.
pub struct Again {
    pub outcomes: Vec<Outcome>,
    pub unchanged: usize,
    pub failures: Vec<Failure>,
}

/// Route53 rejects a change when the record moved since it was read (another invocation got
/// there first, say): those names are read again, their instances looked at again, and they are
/// settled, planned and written once more under the same rules. `candidates` are the records
/// the first pass wanted before the registry settled who holds each name.
#[allow(clippy::too_many_arguments)]
pub async fn again(
    app: &App,
    budget: &Budget,
    trigger: &Trigger,
    scope: &Scope<'_>,
    candidates: &[Desired],
    rules: &Rules<'_>,
    comment: &str,
    outcomes: Vec<Outcome>,
) -> Again {
    let names = rejected(&outcomes);
    if names.is_empty() {
        return Again { outcomes, unchanged: 0, failures: Vec::new() };
    }
    info!(names = names.len(), "changes rejected; reading those names again");
    let at = |z: &ZoneId, n: &RecordName| names.iter().any(|(zone, name)| zone == z && name == n);
    let read = read::current(
        &app.clients,
        budget,
        &read::readings(&[], names.iter().map(|(z, n)| (z, n))),
        &*app.env.progress,
    )
    .await;
    let registry = Registry::read(&read.current, &app.owner);
    // A fresh look at every instance that wants one of these names or holds it now.
    let mut ids: Vec<InstanceId> = candidates
        .iter()
        .filter(|d| at(&d.zone, &d.name))
        .flat_map(|d| d.members.iter().chain([&d.instance]))
        .cloned()
        .collect();
    ids.extend(names.iter().filter_map(|(z, n)| registry.incumbent(z, n)).filter_map(InstanceId::holder));
    ids.sort();
    ids.dedup();
    let tags = app.config.discovery.as_ref();
    let mut instances = match ec2::describe(&app.clients, budget, &ids, tags).await {
        Ok(found) => found,
        Err(f) => return Again { outcomes, unchanged: 0, failures: vec![f] },
    };
    // A group name's members are found by its tag, as the first pass found them; so they are
    // where the name became a group's since the first read.
    let group = InstanceId::group();
    let groups = candidates.iter().any(|d| at(&d.zone, &d.name) && d.instance.is_group() && d.discovered.is_some())
        || names.iter().any(|(z, n)| registry.incumbent(z, n) == Some(group.as_str()));
    if let (true, Some(tags)) = (groups, tags) {
        let members = ec2::describe_members(&app.clients, budget, tags).await;
        if let Some((_, f)) = members.blind.into_iter().next() {
            return Again { outcomes, unchanged: 0, failures: vec![f] };
        }
        instances.extend(members.instances);
    }
    // The instances as the trigger says they will be (a Spot warning's instance about to go).
    let instances = scope::as_it_will_be(trigger, instances);
    let wanted = desired::wanted(&app.config, &scope.mappings, &instances, &app.zones());
    let plan = plan::plan(&wanted.at(at), &read.current, &registry, rules);
    // A name that became another owner's, or another instance's, in the meantime is left alone,
    // and said so.
    let mut failures: Vec<Failure> = read
        .failures
        .into_iter()
        .chain(plan.refusals.iter().map(report::refused))
        .chain(plan.conflicts.iter().map(report::conflicted))
        .collect();
    if let Some(reason) = plan.blocked {
        failures.push(report::held_back(reason));
        return Again { outcomes, unchanged: plan.unchanged, failures };
    }
    let second = apply::apply(&app.clients, budget, &plan.changes, comment, &*app.env.progress).await;
    failures.extend(second.cut);
    Again { outcomes: replace(outcomes, &names, second.outcomes), unchanged: plan.unchanged, failures }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Failure;
    use crate::names::RecordType;
    use crate::records::{Action, Change};

    fn outcome(name: &str, rtype: RecordType, kind: Option<FailureKind>) -> Outcome {
        let name = RecordName::parse(name).unwrap();
        let change = Change {
            zone: ZoneId::parse("Z1").unwrap(),
            name: if rtype == RecordType::TXT { name.marker() } else { name },
            rtype,
            action: Action::Create,
            old: None,
            new: None,
            instance: InstanceId::parse("i-12345678").unwrap(),
            origin: crate::records::Origin::Mapping,
        };
        Outcome { change, result: kind.map_or(Ok(()), |k| Err(Failure::new(k, "", "no"))) }
    }

    #[test]
    fn only_rejected_names_are_tried_again_and_their_second_outcome_wins() {
        use FailureKind::*;
        use RecordType::*;
        let first = vec![
            outcome("a.example.com", A, None),
            outcome("moved.example.com", A, Some(Route53Rejected)),
            outcome("moved.example.com", TXT, Some(Route53Rejected)),
            outcome("denied.example.com", A, Some(Route53Denied)),
        ];
        let names = rejected(&first);
        assert_eq!(names.len(), 1, "a marker travels with its name: {names:?}");
        assert_eq!(names[0].1.as_str(), "moved.example.com.");
        let merged = replace(first, &names, vec![outcome("moved.example.com", A, None)]);
        let shown: Vec<(String, bool)> = merged.iter().map(|o| (o.change.name.to_string(), o.result.is_ok())).collect();
        assert_eq!(
            shown,
            [
                ("a.example.com".to_string(), true),
                ("denied.example.com".to_string(), false),
                ("moved.example.com".to_string(), true),
            ]
        );
        assert!(rejected(&merged).is_empty());
    }
}
