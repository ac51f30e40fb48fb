//! The release: every record and marker this owner holds in the configured zones, deleted (or,
//! in a dry run, listed), so that nothing is left pointing at an address the deployment gives
//! back; then its incident store goes too. Run before a deployment is destroyed.

use tracing::warn;

use crate::app::App;
use crate::budget::Budget;
use crate::incidents::Coverage;
use crate::plan;
use crate::registry::{Orphan, Registry};
use crate::report::Reconciled;
use crate::route53::{apply, read};
use crate::ssm;

pub async fn release(app: &App, budget: &Budget, dry_run: bool) -> Reconciled {
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
    let outcomes = apply::apply(&app.clients, budget, &plan.changes, &comment, progress).await;
    if read.failures.is_empty() && outcomes.iter().all(|o| o.result.is_ok()) {
        forget_incidents(app).await;
    }
    Reconciled { outcomes, coverage, ..Reconciled::failed(read.failures) }
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
