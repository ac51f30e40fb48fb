//! EC2 edge: DescribeInstances, by id or by tag, paged at the API maximum -> [`Instances`].
//! Filters by id rather than naming ids, so an unknown or purged instance is simply absent.

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, Instance as Ec2Instance};

use crate::budget::Budget;
use crate::clients::Clients;
use crate::config::Discovery;
use crate::failure::{Failure, FailureKind};
use crate::instance::{Instance, InstanceState, Instances};
use crate::names::{InstanceId, Place};
use crate::scope::Scope;

/// EC2 takes at most 200 values in one filter.
const IDS_PER_CALL: usize = 200;
/// DescribeInstances' largest page.
pub const PAGE_SIZE: i32 = 1_000;
/// How long a `running` event waits for the instance's public address at most.
const ADDRESS_WAIT: Duration = Duration::from_secs(20);

/// What a DescribeInstances pass found, and the targets it could not see into.
#[derive(Debug, Default)]
pub struct Described {
    pub instances: Instances,
    /// Targets whose instances could not be described (the role could not be assumed, or EC2
    /// failed there), and why: nothing of theirs may be taken as gone.
    pub blind: Vec<(Place, Failure)>,
}

impl Described {
    fn add(&mut self, place: Place, found: Result<Instances, Failure>) {
        match found {
            Ok(found) => self.instances.extend(found),
            Err(f) => self.blind.push((place, f)),
        }
    }

    /// The instances, or the first place's failure: for a run that must see every one.
    fn whole(self) -> Result<Instances, Failure> {
        match self.blind.into_iter().next() {
            None => Ok(self.instances),
            Some((_, f)) => Err(f),
        }
    }
}

/// The instances a scope covers. When it awaits a started instance, describes it again with a
/// short backoff, within the budget, until `ready` says its addresses show. The function's own
/// account and region must answer; a target that does not is blind for the run.
pub async fn describe_scope(
    clients: &Clients,
    budget: &Budget,
    scope: &Scope<'_>,
    tags: Option<&Discovery>,
    ready: impl Fn(&Instances) -> bool,
) -> Result<Described, Failure> {
    let fetch = || async {
        let mut found = describe_each(clients, budget, &scope.ids, tags).await;
        if let (true, Some(tags)) = (scope.all_tagged, tags) {
            let tagged = describe_tagged(clients, budget, tags).await;
            found.instances.extend(tagged.instances);
            found.blind.extend(tagged.blind);
        }
        match found.blind.iter().position(|(p, _)| *p == Place::Home) {
            Some(home) => Err(found.blind.swap_remove(home).1),
            None => Ok(found),
        }
    };
    let mut found = fetch().await?;
    let Some(instance) = &scope.awaits else { return Ok(found) };
    let waiting_until =
        tokio::time::Instant::now() + ADDRESS_WAIT.min(budget.remaining().saturating_sub(Duration::from_secs(2)));
    let mut pause = Duration::from_millis(250);
    while !ready(&found.instances) && tokio::time::Instant::now() + pause < waiting_until {
        tracing::info!(instance = %instance, wait_ms = pause.as_millis() as u64, "no public address yet; checking again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
        found = fetch().await?;
    }
    Ok(found)
}

/// The instances with these ids (one call per 200 ids in each place). `tags` names the tags to
/// read names from. One EC2 does not list is absent: purged, or never in that account and region.
pub async fn describe(
    clients: &Clients,
    budget: &Budget,
    ids: &[InstanceId],
    tags: Option<&Discovery>,
) -> Result<Instances, Failure> {
    describe_each(clients, budget, ids, tags).await.whole()
}

/// The same, place by place: a place that fails is blind.
pub async fn describe_each(
    clients: &Clients,
    budget: &Budget,
    ids: &[InstanceId],
    tags: Option<&Discovery>,
) -> Described {
    let mut found = Described::default();
    let mut places: Vec<Place> = ids.iter().filter(|id| !id.is_group()).map(InstanceId::place).collect();
    places.sort();
    places.dedup();
    for place in places {
        let here: Vec<&str> =
            ids.iter().filter(|id| !id.is_group() && id.place() == place).map(|id| id.bare()).collect();
        let result = by_ids(clients, budget, &place, &here, tags).await;
        found.add(place, result);
    }
    found
}

async fn by_ids(
    clients: &Clients,
    budget: &Budget,
    place: &Place,
    ids: &[&str],
    tags: Option<&Discovery>,
) -> Result<Instances, Failure> {
    let mut found = Instances::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let values = chunk.iter().map(|id| id.to_string()).collect();
        let filter = Filter::builder().name("instance-id").set_values(Some(values)).build();
        found.extend(pages(clients, budget, place, filter, tags).await?);
    }
    Ok(found)
}

/// The instance a network interface in `place` is attached to, if any: one DescribeInstances filter.
pub async fn behind_interface(
    clients: &Clients,
    budget: &Budget,
    place: &Place,
    eni: &str,
) -> Result<Option<InstanceId>, Failure> {
    let filter = Filter::builder().name("network-interface.network-interface-id").values(eni).build();
    let found = pages(clients, budget, place, filter, None).await?;
    Ok(found.into_keys().min())
}

/// Every instance carrying the name tag or the group tag, filtered by EC2 itself, in every
/// followed place side by side.
pub async fn describe_tagged(clients: &Clients, budget: &Budget, tags: &Discovery) -> Described {
    let keys: Vec<String> = tags.keys().into_iter().map(str::to_string).collect();
    everywhere(clients, budget, tags, vec![Filter::builder().name("tag-key").set_values(Some(keys)).build()]).await
}

/// Every instance carrying the group tag, in every followed place: the members of every group,
/// so that a group's record is worked out from all of them, however each spells the name.
pub async fn describe_members(clients: &Clients, budget: &Budget, tags: &Discovery) -> Described {
    let Some(key) = &tags.group_key else { return Described::default() };
    everywhere(clients, budget, tags, vec![Filter::builder().name("tag-key").values(key).build()]).await
}

/// How many places are described at once.
const PLACES_AT_ONCE: usize = 4;

/// The instances `filters` find in every followed place, [`PLACES_AT_ONCE`] places at a time.
async fn everywhere(clients: &Clients, budget: &Budget, tags: &Discovery, filters: Vec<Filter>) -> Described {
    let mut found = Described::default();
    let mut places = clients.places().into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < PLACES_AT_ONCE
            && let Some(place) = places.next()
        {
            let (clients, budget, tags, filters) = (clients.clone(), *budget, tags.clone(), filters.clone());
            running.spawn(async move {
                let mut all = Instances::new();
                for filter in filters {
                    match pages(&clients, &budget, &place, filter, Some(&tags)).await {
                        Ok(more) => all.extend(more),
                        Err(f) => return (place, Err(f)),
                    }
                }
                (place, Ok(all))
            });
        }
        match running.join_next().await {
            Some(Ok((place, result))) => found.add(place, result),
            Some(Err(panicked)) => std::panic::resume_unwind(panicked.into_panic()),
            None => return found,
        }
    }
}

/// Every page `filter` finds in `place`, its instances' ids qualified by it.
async fn pages(
    clients: &Clients,
    budget: &Budget,
    place: &Place,
    filter: Filter,
    tags: Option<&Discovery>,
) -> Result<Instances, Failure> {
    let Some(ec2) = clients.ec2_in(place) else {
        return Err(Failure::new(FailureKind::Ec2Error, "ec2", format!("{place} is not a target (DDNS_TARGETS)")));
    };
    let mut found = Instances::new();
    let mut pages = ec2.describe_instances().filters(filter).max_results(PAGE_SIZE).into_paginator().send();
    while let Some(page) = budget.run(pages.next()).await? {
        let page = page.map_err(|e| match place {
            Place::Home => Failure::from_ec2(&e),
            // A target's failure is a problem of its own.
            target => Failure::from_ec2(&e).at(format!("ec2 {}", target.key())),
        })?;
        for reservation in page.reservations() {
            for i in reservation.instances() {
                if let Some(instance) = convert(i, tags, place) {
                    found.insert(instance.id.clone(), instance);
                }
            }
        }
    }
    Ok(found)
}

fn convert(i: &Ec2Instance, tags: Option<&Discovery>, place: &Place) -> Option<Instance> {
    let id = InstanceId::parse(i.instance_id()?).ok()?.at(place);
    // A state this version does not know is taken as starting: it changes no record by itself.
    let state = i
        .state()
        .and_then(|s| s.name())
        .and_then(|n| InstanceState::parse(n.as_str()))
        .unwrap_or(InstanceState::Pending);
    let ipv4 = i.public_ip_address().and_then(|ip| ip.parse().ok());
    let private_ipv4 = i.private_ip_address().and_then(|ip| ip.parse().ok());
    let ipv6 = primary_ipv6(i).and_then(|ip| ip.parse().ok());
    let tag = |key: Option<&String>| {
        let key = key?.as_str();
        i.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value()).map(str::to_string)
    };
    let name_tag = tag(tags.and_then(|t| t.tag_key.as_ref()));
    let group_tag = tag(tags.and_then(|t| t.group_key.as_ref()));
    let az = i.placement().and_then(|p| p.availability_zone()).map(str::to_string);
    let launched = i.launch_time().map(|t| t.secs());
    Some(Instance { id, state, ipv4, private_ipv4, ipv6, name_tag, group_tag, az, launched })
}

/// The address AAAA records follow: the primary interface's address EC2 marks primary, else the
/// instance's own `Ipv6Address`, else the lowest of the interface's addresses. Never "the first
/// of several", whose order EC2 does not promise, so a record does not flap between addresses.
fn primary_ipv6(i: &Ec2Instance) -> Option<&str> {
    let primary = i.network_interfaces().iter().find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
    let addresses = primary.map(|n| n.ipv6_addresses()).unwrap_or_default();
    let lowest =
        || addresses.iter().filter_map(|a| a.ipv6_address()).min_by_key(|a| a.parse::<std::net::Ipv6Addr>().ok());
    addresses
        .iter()
        .find(|a| a.is_primary_ipv6() == Some(true))
        .and_then(|a| a.ipv6_address())
        .or(i.ipv6_address())
        .or_else(lowest)
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{InstanceIpv6Address, InstanceNetworkInterface, InstanceNetworkInterfaceAttachment};

    use super::*;

    fn with(top: Option<&str>, on_primary: &[(&str, Option<bool>)]) -> Ec2Instance {
        let attachment = InstanceNetworkInterfaceAttachment::builder().device_index(0).build();
        let addresses = on_primary
            .iter()
            .map(|(a, primary)| InstanceIpv6Address::builder().ipv6_address(*a).set_is_primary_ipv6(*primary).build());
        let nic = InstanceNetworkInterface::builder()
            .attachment(attachment)
            .set_ipv6_addresses(Some(addresses.collect()))
            .build();
        Ec2Instance::builder().set_ipv6_address(top.map(str::to_string)).network_interfaces(nic).build()
    }

    #[test]
    fn aaaa_follows_the_primary_ipv6_address_never_the_first_of_several() {
        for (label, instance, want) in [
            ("marked primary", with(None, &[("2600::1", None), ("2600::2", Some(true))]), Some("2600::2")),
            ("the instance's own", with(Some("2600::3"), &[("2600::1", None), ("2600::3", None)]), Some("2600::3")),
            ("the only one", with(None, &[("2600::1", Some(false))]), Some("2600::1")),
            (
                "several, none primary: the lowest, whatever their order",
                with(None, &[("2600::9", None), ("2600::10", None)]),
                Some("2600::9"),
            ),
            ("none", with(None, &[]), None),
        ] {
            assert_eq!(primary_ipv6(&instance), want, "{label}");
        }
    }
}
