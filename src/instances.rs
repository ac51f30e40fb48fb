//! EC2 edge: DescribeInstances, by id or by tag, paged at the API maximum -> [`Instance`]s.
//! Filters by id rather than naming ids, so an unknown or purged instance is simply absent.

use std::collections::HashMap;

use aws_sdk_ec2::types::{Filter, Instance as Ec2Instance};

use crate::desired::Instance;
use crate::edge::{Budget, Clients, Failure};
use crate::names::InstanceId;

/// EC2 takes at most 200 values in one filter.
const IDS_PER_CALL: usize = 200;
/// DescribeInstances' largest page.
pub const PAGE_SIZE: i32 = 1_000;

/// The instances with these ids (one call per 200 ids). `tag_key` names the tag to read names from.
pub async fn describe(
    clients: &Clients,
    budget: &Budget,
    ids: &[InstanceId],
    tag_key: Option<&str>,
) -> Result<HashMap<InstanceId, Instance>, Failure> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let values = chunk.iter().map(|id| id.as_str().to_string()).collect();
        let filter = Filter::builder().name("instance-id").set_values(Some(values)).build();
        found.extend(pages(clients, budget, filter, tag_key).await?);
    }
    Ok(found)
}

/// Every instance carrying `tag_key`, filtered by EC2 itself.
pub async fn describe_tagged(
    clients: &Clients,
    budget: &Budget,
    tag_key: &str,
) -> Result<HashMap<InstanceId, Instance>, Failure> {
    pages(clients, budget, Filter::builder().name("tag-key").values(tag_key).build(), Some(tag_key)).await
}

async fn pages(
    clients: &Clients,
    budget: &Budget,
    filter: Filter,
    tag_key: Option<&str>,
) -> Result<HashMap<InstanceId, Instance>, Failure> {
    let mut found = HashMap::new();
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
    let state = i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default();
    let ipv4 = i.public_ip_address().and_then(|ip| ip.parse().ok());
    let primary = i.network_interfaces().iter().find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
    let ipv6 = primary
        .and_then(|n| n.ipv6_addresses().first())
        .and_then(|a| a.ipv6_address())
        .or(i.ipv6_address())
        .and_then(|ip| ip.parse().ok());
    let name_tag = tag_key
        .and_then(|key| i.tags().iter().find(|t| t.key() == Some(key)))
        .and_then(|t| t.value())
        .map(str::to_string);
    Some(Instance { id, state, ipv4, ipv6, name_tag })
}
