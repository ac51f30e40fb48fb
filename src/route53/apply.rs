//! Route53 writes: one ChangeResourceRecordSets per batch. A batch Route53 rejects, or IAM
//! denies, is retried one name at a time, so one bad name cannot block the others. Markers that
//! are released or narrowed go last, and only for names whose records went.

use std::collections::HashSet;

use aws_sdk_route53::types::{
    Change as R53Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::budget::Budget;
use crate::clients::Clients;
use crate::failure::{Failure, FailureKind};
use crate::names::{RecordName, ZoneId};
use crate::progress::Progress;
use crate::records::{Action, Change, Outcome, RecordData};
use crate::route53::batches::{self, Grant};

/// Applies `changes` in batches within Route53's limits and reports every change's outcome.
pub async fn apply(
    clients: &Clients,
    budget: &Budget,
    changes: &[Change],
    comment: &str,
    progress: &dyn Progress,
) -> Vec<Outcome> {
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
    let mut outcomes = send_all(clients, budget, &first, comment, progress).await;
    // A record of ours left without its marker would be no one's: keep the marker then.
    let failed: HashSet<_> = outcomes.iter().filter(|o| o.result.is_err()).map(|o| o.change.group_key()).collect();
    let markers: Vec<Change> = markers.into_iter().filter(|m| !failed.contains(&m.group_key())).collect();
    outcomes.extend(send_all(clients, budget, &markers, comment, progress).await);
    outcomes
}

async fn send_all(
    clients: &Clients,
    budget: &Budget,
    changes: &[Change],
    comment: &str,
    progress: &dyn Progress,
) -> Vec<Outcome> {
    let requests = batches::batches(changes);
    let mut outcomes = Vec::new();
    let total = requests.len();
    for (i, batch) in requests.into_iter().enumerate() {
        progress.say(format_args!("writing change batch {} of {total} ({} changes)", i + 1, batch.len()));
        let result = send(clients, budget, &batch, comment).await;
        let groups = match &result {
            Err(f) if matches!(f.kind, FailureKind::Route53Rejected | FailureKind::Route53Denied) => {
                batches::by_name(batch)
            }
            _ => vec![batch],
        };
        if groups.len() == 1 {
            outcomes.extend(groups.into_iter().flatten().map(|change| Outcome { change, result: result.clone() }));
            continue;
        }
        for group in groups {
            let result = send(clients, budget, &group, comment).await;
            outcomes.extend(group.into_iter().map(|change| Outcome { change, result: result.clone() }));
        }
    }
    outcomes
}

async fn send(clients: &Clients, budget: &Budget, batch: &[Change], comment: &str) -> Result<(), Failure> {
    let zone = batch[0].zone.as_str();
    let changes = batch.iter().map(to_sdk).collect::<Result<Vec<_>, _>>()?;
    let change_batch =
        ChangeBatch::builder().set_changes(Some(changes)).comment(comment).build().map_err(build_failure)?;
    let req = clients.route53.change_resource_record_sets().hosted_zone_id(zone).change_batch(change_batch);
    budget.run(req.send()).await.map_err(|f| f.at(zone))?.map(|_| ()).map_err(|e| Failure::from_route53(&e).at(zone))
}

fn to_sdk(c: &Change) -> Result<R53Change, Failure> {
    let (action, data) = match c.action {
        // CREATE, not UPSERT: if a record appeared since it was read, Route53 refuses rather than overwrite.
        Action::Create => (ChangeAction::Create, c.new.as_ref()),
        Action::Update => (ChangeAction::Upsert, c.new.as_ref()),
        Action::Delete => (ChangeAction::Delete, c.old.as_ref()),
    };
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
