//! Route53 writes: one ChangeResourceRecordSets per batch. When Route53 refuses a batch, or IAM
//! denies it, the names it named are set aside and the rest sent again at once; where it named
//! none, the batch is halved by names until the refused one is found, so one bad name cannot
//! block the others. A refusal by a zone's guardrail becomes a problem of its own that says the
//! way out, and is not taken for a record that moved (retry.rs never sees it). Markers that
//! are released or narrowed go last, and only for names whose records went. When the deadline
//! comes too near for another batch, the write stops between batches, never within a name, and
//! says how far it got: the next run plans the rest afresh, so it carries on where this stopped.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use aws_sdk_route53::types::{
    Change as R53Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::budget::Budget;
use crate::clients::Clients;
use crate::failure::{Failure, FailureKind};
use crate::names::{RecordName, ZoneId};
use crate::progress::Progress;
use crate::records::{Action, Change, Outcome, RecordData, SetType};
use crate::route53::batches::{self, Grant, Split};
use crate::route53::refusal::{self, Guardrail, Named};

/// What a write did: the outcome of every change it sent and, when the deadline came too near to
/// send them all, the failure that says how far it got.
#[derive(Debug)]
pub struct Written {
    pub outcomes: Vec<Outcome>,
    pub cut: Option<Failure>,
}

/// The least time a batch is given: one is not begun with less left.
const BATCH_FLOOR: Duration = Duration::from_secs(1);

/// Applies `changes` in batches within Route53's limits and reports every change's outcome.
pub async fn apply(
    clients: &Clients,
    budget: &Budget,
    changes: &[Change],
    comment: &str,
    progress: &dyn Progress,
) -> Written {
    // A marker goes after the records it guards are deleted, whether it goes too or is narrowed
    // to fewer types, unless it travels in their very request: it never stops guarding a record
    // that is still there.
    let deleting: HashSet<_> = changes
        .iter()
        .filter(|c| !c.is_marker() && c.action == Action::Delete)
        .map(|c| (c.group_key(), batches::grant(c)))
        .collect();
    let (markers, first): (Vec<Change>, Vec<Change>) = changes.iter().cloned().partition(|c| {
        let grant = batches::grant(c);
        let apart = |(key, g): &((ZoneId, RecordName), Grant)| *key == c.group_key() && *g != grant;
        grant == Grant::ReleaseMarkers || (c.is_marker() && deleting.iter().any(apart))
    });
    let mut pace = Pace::default();
    let (mut outcomes, unsent) = send_all(clients, budget, &first, comment, progress, &mut pace).await;
    // A record of ours left without its marker would be no one's: keep the marker then.
    let failed: HashSet<_> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.change.group_key())
        .chain(unsent.iter().map(Change::group_key))
        .collect();
    let (markers, held): (Vec<Change>, Vec<Change>) =
        markers.into_iter().partition(|m| !failed.contains(&m.group_key()));
    let (second, unsent_markers) = send_all(clients, budget, &markers, comment, progress, &mut pace).await;
    outcomes.extend(second);
    let unsent_names: HashSet<_> = unsent.iter().map(Change::group_key).collect();
    let held = held.iter().filter(|m| unsent_names.contains(&m.group_key())).count();
    let left = unsent.len() + unsent_markers.len() + held;
    let cut = (left > 0).then(|| {
        let sent = outcomes.len();
        Failure::new(
            FailureKind::Deadline,
            "",
            format!(
                "stopped between change batches as the deadline neared: {sent} of {} changes written, {left} left; the next run carries on with them",
                sent + left
            ),
        )
    });
    Written { outcomes, cut }
}

/// How long this invocation's batches took: the next one is begun only with at least that
/// long (and [`BATCH_FLOOR`]) left.
#[derive(Default)]
struct Pace {
    longest: Duration,
}

impl Pace {
    fn room_for_one(&self, budget: &Budget) -> bool {
        budget.remaining() >= self.longest.max(BATCH_FLOOR)
    }
}

/// A batch waiting to be sent.
enum Pending {
    Send(Vec<Change>),
    /// The halves of a refused batch whose refusal named nothing in it: the first is sent; when
    /// it goes through, the second holds the refused change, and is split without being sent
    /// whole again.
    Halves(Vec<Change>, Vec<Change>, Failure),
}

/// Sends the changes in batches while the budget has room for one; returns the outcomes and the
/// changes not sent. A batch Route53 refuses, or IAM denies, is split (see [`batches::split`]).
async fn send_all(
    clients: &Clients,
    budget: &Budget,
    changes: &[Change],
    comment: &str,
    progress: &dyn Progress,
    pace: &mut Pace,
) -> (Vec<Outcome>, Vec<Change>) {
    let mut queue: VecDeque<Pending> = batches::batches(changes).into_iter().map(Pending::Send).collect();
    let mut outcomes = Vec::new();
    let mut sent = 0;
    while let Some(pending) = queue.pop_front() {
        let (batch, second) = match pending {
            Pending::Send(batch) => (batch, None),
            Pending::Halves(first, second, refused) => (first, Some((second, refused))),
        };
        if !pace.room_for_one(budget) {
            let second = second.map(|(b, _)| b);
            let left = queue.into_iter().flat_map(|p| match p {
                Pending::Send(b) => b,
                Pending::Halves(a, b, _) => [a, b].concat(),
            });
            return (outcomes, batch.into_iter().chain(second.into_iter().flatten()).chain(left).collect());
        }
        sent += 1;
        progress.say(format_args!(
            "writing change batch {sent} ({} changes; {} more waiting)",
            batch.len(),
            queue.len()
        ));
        let started = Instant::now();
        let result = send(clients, budget, &batch, comment).await;
        pace.longest = pace.longest.max(started.elapsed());
        match result {
            Ok(()) => {
                outcomes.extend(batch.into_iter().map(|change| Outcome { change, result: Ok(()) }));
                if let Some((second, refused)) = second {
                    split_refused(second, refused, &mut queue, &mut outcomes);
                }
            }
            Err(f) => {
                if let Some((second, _)) = second {
                    queue.push_front(Pending::Send(second));
                }
                if matches!(f.kind, FailureKind::Route53Rejected | FailureKind::Route53Denied) {
                    split_refused(batch, f, &mut queue, &mut outcomes);
                } else {
                    outcomes.extend(batch.into_iter().map(|change| Outcome { change, result: Err(f.clone()) }));
                }
            }
        }
    }
    (outcomes, Vec::new())
}

/// What becomes of a refused batch: the names Route53 named fail with what it said of them,
/// and what is left goes to the front of the queue, whole or in halves.
fn split_refused(batch: Vec<Change>, refused: Failure, queue: &mut VecDeque<Pending>, outcomes: &mut Vec<Outcome>) {
    let mut fail = |unit: Vec<Change>, failure: Failure| {
        outcomes.extend(unit.into_iter().map(|change| Outcome { change, result: Err(failure.clone()) }));
    };
    match batches::split(batch, &refusal::named(&refused.message)) {
        Split::Named { aside, rest } => {
            for (unit, named) in aside {
                let failure = match &named.guardrail {
                    Some(g) => guardrail_failure(&unit, Some(&named), g, &named.said),
                    None => refused.clone(),
                };
                fail(unit, failure);
            }
            if !rest.is_empty() {
                queue.push_front(Pending::Send(rest));
            }
        }
        Split::Halves(first, second) => queue.push_front(Pending::Halves(first, second, refused)),
        Split::Alone(unit) => {
            let failure = match refusal::guardrail_in(&refused.message) {
                Some(g) => guardrail_failure(&unit, None, &g, ""),
                None => refused,
            };
            fail(unit, failure);
        }
    }
}

/// A name's changes a guardrail refused, as a problem that names the zone, the record (the one
/// Route53 named, else the name's first address record), the guardrail and the way out. Every
/// change of the name carries the same problem, so it is one incident across sweeps.
fn guardrail_failure(unit: &[Change], named: Option<&Named>, guardrail: &Guardrail, said: &str) -> Failure {
    let record = named
        .and_then(|n| unit.iter().find(|c| c.name == n.name && n.rtype.is_none_or(|t| t == SetType::Ours(c.rtype))))
        .or_else(|| unit.iter().find(|c| !c.is_marker()))
        .unwrap_or(&unit[0]);
    let zone = &record.zone;
    let way_out = refusal::way_out(guardrail, zone, record.old.as_ref(), said);
    Failure::new(
        FailureKind::Route53Guardrail,
        format!("{} {}", record.name, record.rtype),
        format!(
            "Route53 refused to {} {} {} in zone {zone} because of the zone's guardrail {guardrail}: {way_out}",
            record.action.as_str(),
            record.name,
            record.rtype
        ),
    )
    .in_zone(zone)
}

async fn send(clients: &Clients, budget: &Budget, batch: &[Change], comment: &str) -> Result<(), Failure> {
    let zone = batch[0].zone.as_str();
    let changes = batch.iter().map(to_sdk).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    let change_batch =
        ChangeBatch::builder().set_changes(Some(changes)).comment(comment).build().map_err(build_failure)?;
    let sent = async {
        clients.paced().await.change_resource_record_sets().hosted_zone_id(zone).change_batch(change_batch).send().await
    };
    budget.run(sent).await.map_err(|f| f.at(zone))?.map(|_| ()).map_err(|e| Failure::from_route53(&e).at(zone))
}

/// A change as Route53's changes. Every write is a compare-and-swap: a new record is a CREATE,
/// which Route53 refuses when one appeared since the read, and an update is the DELETE of the
/// exact values read with the CREATE of the new ones in the same batch, which Route53 refuses
/// when the record changed since the read. No write overwrites what it did not see.
fn to_sdk(c: &Change) -> Result<Vec<R53Change>, Failure> {
    let steps: Vec<(ChangeAction, Option<&RecordData>)> = match c.action {
        Action::Create => vec![(ChangeAction::Create, c.new.as_ref())],
        Action::Update => vec![(ChangeAction::Delete, c.old.as_ref()), (ChangeAction::Create, c.new.as_ref())],
        Action::Delete => vec![(ChangeAction::Delete, c.old.as_ref())],
    };
    steps.into_iter().map(|(action, data)| sdk_change(c, action, data)).collect()
}

fn sdk_change(c: &Change, action: ChangeAction, data: Option<&RecordData>) -> Result<R53Change, Failure> {
    let data: &RecordData = data.ok_or_else(|| build_failure(format!("{} {} has no record data", c.name, c.rtype)))?;
    let records = data
        .values
        .iter()
        .map(|v| ResourceRecord::builder().value(v).build().map_err(build_failure))
        .collect::<Result<Vec<_>, _>>()?;
    let set = ResourceRecordSet::builder()
        .name(c.name.as_str())
        .r#type(RrType::from(c.rtype.as_str()))
        .ttl(i64::from(data.ttl))
        .set_resource_records(Some(records))
        .build()
        .map_err(build_failure)?;
    R53Change::builder().action(action).resource_record_set(set).build().map_err(build_failure)
}

fn build_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(FailureKind::Route53Error, "", format!("could not build the request: {e}"))
}
