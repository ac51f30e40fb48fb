//! Route53 reads: what exists at the names we manage, in the fewest calls.
//!
//! Names are visited in listing order. Each call starts at the first name not yet seen and asks
//! for a full page (300 records); every managed name that page spans is then known. A single name
//! costs one call, names close together share a page, and the total is never more than one call
//! per name nor more than paging the whole zone from the first managed name. A sweep in fleet
//! mode reads whole zones instead, to find the markers of names nothing wants any more.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use aws_sdk_route53::types::ResourceRecordSet;

use crate::budget::Budget;
use crate::clients::Clients;
use crate::failure::{Failure, FailureKind};
use crate::names::{RecordName, Zone, ZoneId, listing_cmp_all};
use crate::progress::Progress;
use crate::records::{Current, Existing, SetType};

/// ListResourceRecordSets' largest page.
pub const PAGE_SIZE: i32 = 300;

/// What to read in one zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Every record set.
    Whole,
    /// Every record set at these names.
    Names(Vec<RecordName>),
}

/// The zones to read, and what to read in each: `whole` zones entirely, and in every other zone
/// the given names with the ownership markers that guard them.
pub fn readings<'a>(
    whole: &[ZoneId],
    names: impl IntoIterator<Item = (&'a ZoneId, &'a RecordName)>,
) -> BTreeMap<ZoneId, Reading> {
    let mut out: BTreeMap<ZoneId, Reading> = whole.iter().map(|z| (z.clone(), Reading::Whole)).collect();
    for (zone, name) in names {
        let reading = out.entry(zone.clone()).or_insert_with(|| Reading::Names(Vec::new()));
        if let Reading::Names(list) = reading {
            list.extend([name.clone(), name.marker()]);
        }
    }
    out
}

/// What the reads found, and which zones could not be read (a zone that was not read is never
/// written).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Read {
    pub current: Current,
    pub readable: Vec<ZoneId>,
    pub failures: Vec<Failure>,
}

/// Reads every zone as `readings` says.
pub async fn current(
    clients: &Clients,
    budget: &Budget,
    readings: &BTreeMap<ZoneId, Reading>,
    progress: &dyn Progress,
) -> Read {
    let mut read = Read::default();
    for (zone, reading) in readings {
        let sets = match reading {
            Reading::Whole => zone_sets(clients, budget, zone, progress).await,
            Reading::Names(names) => name_sets(clients, budget, zone, names).await,
        };
        match sets {
            Ok(sets) => {
                read.readable.push(zone.clone());
                for set in sets {
                    read.current.add(zone, set);
                }
            }
            Err(f) => read.failures.push(f.at(zone.as_str())),
        }
    }
    read
}

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
    let listed = async {
        let mut req =
            clients.paced().await.list_resource_record_sets().hosted_zone_id(zone.as_str()).max_items(PAGE_SIZE);
        if let Some((name, rtype, id)) = start {
            req = req.start_record_name(name.as_str());
            if !rtype.is_empty() {
                req = req.start_record_type(rtype.as_str().into()).set_start_record_identifier(id.clone());
            }
        }
        req.send().await
    };
    let page = budget.run(listed).await?.map_err(|e| Failure::from_route53(&e).at(zone.as_str()))?;
    let next = page.next_record_name().filter(|_| page.is_truncated()).map(|n| {
        let rtype = page.next_record_type().map(|t| t.as_str().to_string()).unwrap_or_default();
        (RecordName::from_route53(n), rtype, page.next_record_identifier().map(str::to_string))
    });
    Ok((page.resource_record_sets().iter().map(existing).collect(), next))
}

/// Reads every record set at `names` in `zone` (all types, so conflicts are visible).
async fn name_sets(
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

/// Reads every record set in `zone`, page by page: what a sweep needs to find orphaned markers.
async fn zone_sets(
    clients: &Clients,
    budget: &Budget,
    zone: &ZoneId,
    progress: &dyn Progress,
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

/// Learns each zone's domain and type (public or private), once at start-up: one GetHostedZone a
/// zone. Each failure is the reason in a few words.
pub async fn zones(clients: &Clients, zones: &[ZoneId]) -> Vec<(ZoneId, Result<Zone, Failure>)> {
    let mut out = Vec::new();
    for zone in zones {
        let learned = match clients.paced().await.get_hosted_zone().id(zone.as_str()).send().await {
            Err(e) => Err(Failure::from_route53(&e).at(zone.as_str()).in_zone(zone)),
            Ok(got) => got.hosted_zone().map_or_else(
                || Err(Failure::new(FailureKind::NoSuchZone, zone.as_str(), "not found").in_zone(zone)),
                |hosted| {
                    let private = hosted.config().is_some_and(|c| c.private_zone());
                    Ok(Zone { id: zone.clone(), name: RecordName::from_route53(hosted.name()), private })
                },
            ),
        };
        out.push((zone.clone(), learned));
    }
    out
}

fn existing(set: &ResourceRecordSet) -> Existing {
    let special = if set.alias_target().is_some() {
        Some("an alias record".to_string())
    } else {
        set.set_identifier().map(|id| format!("a routing-policy record (set identifier {id:?})"))
    };
    Existing {
        name: RecordName::from_route53(set.name()),
        rtype: SetType::parse(set.r#type().as_str()),
        ttl: set.ttl().and_then(|t| u32::try_from(t).ok()),
        values: set.resource_records().iter().map(|r| r.value().to_string()).collect(),
        special,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_cover_whole_zones_and_each_name_with_its_marker() {
        let (za, zb) = (ZoneId::parse("ZA").unwrap(), ZoneId::parse("ZB").unwrap());
        let (a, b) = (RecordName::parse("a.example.com").unwrap(), RecordName::parse("b.example.org").unwrap());
        let got = readings(std::slice::from_ref(&za), [(&za, &a), (&zb, &b)]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[&za], Reading::Whole, "a zone read whole needs no names");
        assert_eq!(got[&zb], Reading::Names(vec![b.clone(), b.marker()]));
        assert!(readings(&[], std::iter::empty()).is_empty());
    }
}
