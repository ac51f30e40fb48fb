//! The release: every record and marker this owner holds in the configured zones, deleted (or,
//! in a dry run, listed), so that nothing is left pointing at an address the deployment gives
//! back; then its incident store goes too. Run before a deployment is destroyed.

use std::time::Duration;

use tracing::{info, warn};

use crate::app::App;
use crate::budget::Budget;
use crate::incidents::Coverage;
use crate::plan;
use crate::registry::{Orphan, Registry};
use crate::report::Reconciled;
use crate::route53::{apply, read};
use crate::ssm;

/// The least time kept back from the deadline for the second look of a settling release: one
/// read of the zones and the deletes it finds. A first pass that took longer (large zones read at
/// Route53's pace) keeps back as long as it took, since the second look reads the same zones.
const LOOK_AGAIN: Duration = Duration::from_secs(3);

/// Releases what this owner holds. A settling release (Terraform's destroy, once the rules'
/// targets and permissions are gone) then waits until shortly before its own deadline, which
/// is as long as any invocation of the function may run, and releases again: an invocation that
/// was already running when the triggers went and wrote after the first pass is cleaned up too.
pub async fn release(app: &App, budget: &Budget, dry_run: bool, settle: bool) -> Reconciled {
    let started = tokio::time::Instant::now();
    let first = pass(app, budget, dry_run).await;
    if dry_run {
        return first;
    }
    if !settle {
        return finish(app, first).await;
    }
    let wait = budget.remaining().saturating_sub(LOOK_AGAIN.max(started.elapsed()));
    info!(wait_s = wait.as_secs(), "released; waiting out invocations still running, then looking again");
    tokio::time::sleep(wait).await;
    let second = pass(app, budget, false).await;
    let mut outcomes = first.outcomes;
    outcomes.extend(second.outcomes);
    let mut failures = first.failures;
    failures.extend(second.failures);
    finish(app, Reconciled { outcomes, coverage: second.coverage, ..Reconciled::failed(failures) }).await
}

/// What this owner holds, as a release finds it: the deletes a dry run would list, nothing written.
pub async fn held(app: &App, budget: &Budget) -> Reconciled {
    pass(app, budget, true).await
}

/// One read of the configured zones whole, and the deletes of everything of ours in them.
async fn pass(app: &App, budget: &Budget, dry_run: bool) -> Reconciled {
    let progress = &*app.env.progress;
    let zones = app.config.zones();
    let read = read::current(&app.clients, budget, &read::readings(&zones, std::iter::empty()), progress).await;
    let registry = Registry::read(&read.current, &app.owner);
    // Names under the earlier default owner id are this deployment's where it configures them.
    let configured = |o: &Orphan| app.config.mappings.iter().any(|m| m.zone == o.zone && m.name == o.name);
    let plan = plan::release_all(&read.current, &registry, configured);
    let coverage = Coverage { full: false, described: false, read: read.readable.clone() };
    if dry_run {
        return Reconciled { planned: plan.changes, coverage, ..Reconciled::failed(read.failures) };
    }
    let comment = app.owner.comment("release");
    let written = apply::apply(&app.clients, budget, &plan.changes, &comment, progress).await;
    let failures = read.failures.into_iter().chain(written.cut).collect();
    Reconciled { outcomes: written.outcomes, coverage, ..Reconciled::failed(failures) }
}

/// When everything went, the incidents go too.
async fn finish(app: &App, released: Reconciled) -> Reconciled {
    if released.failures.is_empty() && released.outcomes.iter().all(|o| o.result.is_ok()) {
        forget_incidents(app).await;
    }
    released
}

/// Nothing of the deployment's is left to have problems with: its incidents go, parameter and all.
async fn forget_incidents(app: &App) {
    if let Some(name) = app.config.incident_store()
        && let Err(e) = ssm::delete(&app.clients, name).await
    {
        warn!(error = %e, "the incidents parameter could not be deleted");
        return;
    }
    let mut state = app.incidents.lock().expect("not poisoned");
    state.incidents = Default::default();
    state.stored = None;
}
