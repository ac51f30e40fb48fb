//! The alert step: what one invocation met, held against the open incidents -> at most one
//! message (new problems, reminders, recoveries and changes together), delivered; then the
//! incidents kept, in memory and, when they changed, in their SSM parameter.

use std::time::{SystemTime, UNIX_EPOCH};

use tracing::warn;

use crate::app::App;
use crate::budget::Budget;
use crate::event::Trigger;
use crate::incidents::{Coverage, Incidents};
use crate::notify::Alert;
use crate::report::Answer;
use crate::ssm;

/// Alerts about `answer` as the incidents call for, and fills in its webhook delivery and the
/// incident gauges of its metrics line.
pub async fn alert(
    app: &App,
    trigger: &Trigger,
    mut answer: Answer,
    coverage: &Coverage,
    account: Option<String>,
    budget: &Budget,
) -> Answer {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let step = lock(app).incidents.observe(&answer.failures(), coverage, now, app.config.alert_repeat);
    let alert = Alert::of(&answer, &step.alerting, trigger, account, app.env.region.clone(), app.env.function.clone());
    let delivered = match (&app.notifier, alert) {
        (Some(notifier), Some(alert)) => {
            let delivery = notifier.send(&alert, budget).await;
            let ok = delivery.ok();
            answer.webhook = Some(delivery);
            ok
        }
        // A webhook that could not be set up delivers nothing: what is due stays due.
        _ if app.webhook_unavailable.is_some() => false,
        _ => true,
    };
    let kept = if delivered { step.delivered(now) } else { step.undelivered() };
    answer.gauges.incidents_open = kept.open();
    answer.gauges.store_failures = keep(app, kept).await;
    answer
}

fn lock(app: &App) -> std::sync::MutexGuard<'_, crate::app::IncidentState> {
    app.incidents.lock().expect("not poisoned")
}

/// Keeps the incidents in memory, and writes their parameter (when there is one) when what it
/// holds would change: a parameter not yet made is made for the first open incident.
/// Returns the store failures not yet counted.
async fn keep(app: &App, kept: Incidents) -> usize {
    let name = app.incident_store();
    let text = name.map(|_| kept.store());
    let changed = {
        let mut state = lock(app);
        let changed = text.as_deref().is_some_and(|t| state.stored.as_deref().map_or(!kept.is_empty(), |s| s != t));
        state.incidents = kept;
        changed
    };
    let mut failures = std::mem::take(&mut lock(app).store_failures);
    if let (true, Some(name), Some(text)) = (changed, name, text) {
        match ssm::write(&app.clients, name, &text).await {
            Ok(()) => lock(app).stored = Some(text),
            Err(e) => {
                if app.first_time("incident store") {
                    warn!(error = %e, "the open incidents could not be kept; alerting goes on from memory");
                }
                failures += 1;
            }
        }
    }
    failures
}
