//! EC2 edge: DescribeInstances, by id or by tag, paged at the API maximum -> [`Instances`].
//! Filters by id rather than naming ids, so an unknown or purged instance is simply absent.

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, Instance as Ec2Instance};

use crate::budget::Budget;
use crate::clients::Clients;
use crate::failure::Failure;
use crate::instance::{Instance, InstanceState, Instances};
use crate::names::InstanceId;
use crate::scope::Scope;

/// EC2 takes at most 200 values in one filter.
const IDS_PER_CALL: usize = 200;
/// DescribeInstances' largest page.
pub const PAGE_SIZE: i32 = 1_000;
/// How long a `running` event waits for the instance's public address at most.
const ADDRESS_WAIT: Duration = Duration::from_secs(20);

/// The instances a scope covers. When it awaits a started instance, describes it again with a
/// short backoff, within the budget, until `ready` says its addresses show.
pub async fn describe_scope(
    clients: &Clients,
    budget: &Budget,
    scope: &Scope<'_>,
    tag_key: Option<&str>,
    ready: impl Fn(&Instances) -> bool,
) -> Result<Instances, Failure> {
    let fetch = || async {
        let mut found = if scope.ids.is_empty() {
            Instances::new()
        } else {
            describe(clients, budget, &scope.ids, tag_key).await?
        };
        if let (true, Some(key)) = (scope.all_tagged, tag_key) {
            found.extend(describe_tagged(clients, budget, key).await?);
        }
        Ok::<_, Failure>(found)
    };
    let mut found = fetch().await?;
    let Some(instance) = &scope.awaits else { return Ok(found) };
    let waiting_until =
        tokio::time::Instant::now() + ADDRESS_WAIT.min(budget.remaining().saturating_sub(Duration::from_secs(2)));
    let mut pause = Duration::from_millis(250);
    while !ready(&found) && tokio::time::Instant::now() + pause < waiting_until {
        tracing::info!(instance = %instance, wait_ms = pause.as_millis() as u64, "no public address yet; checking again");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
        found = fetch().await?;
    }
    Ok(found)
}

/// The instances with these ids (one call per 200 ids). `tag_key` names the tag to read names from.
/// One EC2 does not list is absent: purged, or never in this account and region.
pub async fn describe(
    clients: &Clients,
    budget: &Budget,
    ids: &[InstanceId],
    tag_key: Option<&str>,
) -> Result<Instances, Failure> {
    let mut found = Instances::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let values = chunk.iter().map(|id| id.as_str().to_string()).collect();
        let filter = Filter::builder().name("instance-id").set_values(Some(values)).build();
        found.extend(pages(clients, budget, filter, tag_key).await?);
    }
    Ok(found)
}

/// The instance a network interface is attached to, if any: one DescribeInstances filter.
pub async fn behind_interface(clients: &Clients, budget: &Budget, eni: &str) -> Result<Option<InstanceId>, Failure> {
    let filter = Filter::builder().name("network-interface.network-interface-id").values(eni).build();
    let found = pages(clients, budget, filter, None).await?;
    Ok(found.into_keys().min())
}

/// Every instance carrying `tag_key`, filtered by EC2 itself.
pub async fn describe_tagged(clients: &Clients, budget: &Budget, tag_key: &str) -> Result<Instances, Failure> {
    pages(clients, budget, Filter::builder().name("tag-key").values(tag_key).build(), Some(tag_key)).await
}

async fn pages(
    clients: &Clients,
    budget: &Budget,
    filter: Filter,
    tag_key: Option<&str>,
) -> Result<Instances, Failure> {
    let mut found = Instances::new();
    let mut pages = clients.ec2.describe_instances().filters(filter).max_results(PAGE_SIZE).into_paginator().send();
    while let Some(page) = budget.run(pages.next()).await? {
        let page = page.map_err(|e| Failure::from_ec2(&e))?;
        for reservation in page.reservations() {
            for i in reservation.instances() {
                if let Some(instance) = convert(i, tag_key) {
                    found.insert(instance.id.clone(), instance);
                }
            }
        }
    }
    Ok(found)
}

fn convert(i: &Ec2Instance, tag_key: Option<&str>) -> Option<Instance> {
    let id = InstanceId::parse(i.instance_id()?).ok()?;
    // A state this version does not know is taken as starting: it changes no record by itself.
    let state = i
        .state()
        .and_then(|s| s.name())
        .and_then(|n| InstanceState::parse(n.as_str()))
        .unwrap_or(InstanceState::Pending);
    let ipv4 = i.public_ip_address().and_then(|ip| ip.parse().ok());
    let private_ipv4 = i.private_ip_address().and_then(|ip| ip.parse().ok());
    let ipv6 = primary_ipv6(i).and_then(|ip| ip.parse().ok());
    let name_tag = tag_key
        .and_then(|key| i.tags().iter().find(|t| t.key() == Some(key)))
        .and_then(|t| t.value())
        .map(str::to_string);
    let launched = i.launch_time().map(|t| t.secs());
    Some(Instance { id, state, ipv4, private_ipv4, ipv6, name_tag, launched })
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
