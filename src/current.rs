//! Route53 edge for reads: what exists at the names we manage, in the fewest calls.
//!
//! Names are visited in listing order. Each call starts at the first name not yet seen and asks
//! for a full page (300 records); every managed name that page spans is then known. A single name
//! costs one call, names close together share a page, and the total is never more than one call
//! per name nor more than paging the whole zone from the first managed name. A sweep in fleet
//! mode reads whole zones instead, to find the markers of names nothing wants any more.

use std::cmp::Ordering;

use aws_sdk_route53::types::ResourceRecordSet;

use crate::edge::{Budget, Clients, Failure};
use crate::names::{RecordName, ZoneId, listing_cmp_all};
use crate::plan::Existing;
use crate::report::Progress;

/// ListResourceRecordSets' largest page.
pub const PAGE_SIZE: i32 = 300;

/// Where a listing page starts: a name, with the type and set identifier where the previous
/// page stopped inside that name's records (an empty type starts at the name's first record).
type Start = (RecordName, String, Option<String>);

/// One ListResourceRecordSets page from `start`: its record sets, and where the next page
/// starts when this one is truncated.
async fn page(
    clients: &Clients,
    budget: &Budget,
    zone: &ZoneId,
    start: Option<&Start>,
) -> Result<(Vec<Existing>, Option<Start>), Failure> {
    let mut req = clients.route53.list_resource_record_sets().hosted_zone_id(zone.as_str()).max_items(PAGE_SIZE);
    if let Some((name, rtype, id)) = start {
        req = req.start_record_name(name.as_str());
        if !rtype.is_empty() {
            req = req.start_record_type(rtype.as_str().into()).set_start_record_identifier(id.clone());
        }
    }
    let page = budget.run(req.send()).await?.map_err(|e| Failure::from_route53(&e).at(zone.as_str()))?;
    let next = page.next_record_name().filter(|_| page.is_truncated()).map(|n| {
        let rtype = page.next_record_type().map(|t| t.as_str().to_string()).unwrap_or_default();
        (RecordName::from_route53(n), rtype, page.next_record_identifier().map(str::to_string))
    });
    Ok((page.resource_record_sets().iter().map(existing).collect(), next))
}

/// Reads every record set at `names` in `zone` (all types, so conflicts are visible).
pub async fn read(
    clients: &Clients,
    budget: &Budget,
    zone: &ZoneId,
    names: &[RecordName],
) -> Result<Vec<Existing>, Failure> {
    let mut pending: Vec<&RecordName> = names.iter().collect();
    pending.sort_by_key(|n| n.listing_key(true));
    pending.dedup();
    let mut found: Vec<Existing> = Vec::new();
    // Where the previous page stopped, to continue a name whose records fill more than one page.
    let mut resume: Option<Start> = None;
    while let Some(first) = pending.first().copied() {
        let start = match resume.take() {
            Some(r) if &r.0 == first => r,
            _ => (first.clone(), String::new(), None),
        };
        let (sets, next) = page(clients, budget, zone, Some(&start)).await?;
        let last = next.as_ref().and_then(|_| sets.last()).map(|e| e.name.clone());
        for e in sets {
            if pending.contains(&&e.name) && !found.contains(&e) {
                found.push(e);
            }
        }
        resume = next;
        // The page starts with `first`'s records, so `first` is done unless they fill the page.
        let first_continues = resume.as_ref().is_some_and(|(n, ..)| n == first);
        // Another name is done when the page spans it under both orders Route53 and emulators use.
        let spanned = |n: &RecordName| {
            listing_cmp_all(first, n) == Some(Ordering::Less)
                && last.as_ref().is_none_or(|last| listing_cmp_all(n, last) == Some(Ordering::Less))
        };
        pending.retain(|n| if *n == first { first_continues } else { !spanned(n) });
    }
    Ok(found)
}

/// Learns the allowed zones' names, once at start-up; an error names DDNS_ZONES and the zone.
pub async fn zone_names(clients: &Clients, zones: &[ZoneId]) -> Result<Vec<(ZoneId, RecordName)>, String> {
    let mut out = Vec::new();
    for zone in zones {
        let got = clients.route53.get_hosted_zone().id(zone.as_str()).send().await.map_err(|e| {
            format!("DDNS_ZONES: hosted zone {zone} could not be read ({})", Failure::from_route53(&e).message)
        })?;
        let name = got.hosted_zone().map(|z| RecordName::from_route53(z.name()));
        out.push((zone.clone(), name.ok_or_else(|| format!("DDNS_ZONES: hosted zone {zone} has no name"))?));
    }
    Ok(out)
}

/// Reads every record set in `zone`, page by page: what a sweep needs to find orphaned markers.
pub async fn read_zone(
    clients: &Clients,
    budget: &Budget,
    zone: &ZoneId,
    progress: Progress,
) -> Result<Vec<Existing>, Failure> {
    let mut found = Vec::new();
    let mut next: Option<Start> = None;
    loop {
        let (sets, after) = page(clients, budget, zone, next.as_ref()).await?;
        found.extend(sets);
        progress.say(format_args!("reading zone {zone}: {} record sets", found.len()));
        match after {
            Some(start) => next = Some(start),
            None => return Ok(found),
        }
    }
}

fn existing(set: &ResourceRecordSet) -> Existing {
    let special = if set.alias_target().is_some() {
        Some("an alias record".to_string())
    } else {
        set.set_identifier().map(|id| format!("a routing-policy record (set identifier {id:?})"))
    };
    Existing {
        name: RecordName::from_route53(set.name()),
        rtype: set.r#type().as_str().to_string(),
        ttl: set.ttl().and_then(|t| u32::try_from(t).ok()),
        values: set.resource_records().iter().map(|r| r.value().to_string()).collect(),
        special,
    }
}
