//! The alert step: what one invocation met, held against the open incidents -> at most one
//! message (new problems, reminders, recoveries and changes together), delivered; then the
//! incidents kept, in memory and, when they changed, in their SSM parameter. Before it sends or
//! writes anything about incidents, it reads the parameter again and joins what other execution
//! environments stored, so that what one of them sent is not sent twice. Every read and write
//! runs inside the invocation's budget.

use std::time::{SystemTime, UNIX_EPOCH};

use tracing::warn;

use crate::app::{App, IncidentState};
use crate::budget::Budget;
use crate::config::AlertOn;
use crate::event::Trigger;
use crate::incidents::{Coverage, Incidents, Step};
use crate::notify::{Alert, AlertKind};
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
    let failures = answer.failures();
    let observe = |known: &Incidents| known.observe(&failures, coverage, now, app.timing());
    let (mut step, stored) = {
        let state = lock(app);
        (observe(&state.incidents), state.stored.clone())
    };
    let mut store_failures = std::mem::take(&mut lock(app).store_failures);
    if let Some(name) = app.incident_store().filter(|_| has_news(&step, stored.as_deref(), now)) {
        match read(app, name, budget).await {
            Ok((theirs, text)) => {
                let mut state = lock(app);
                state.incidents = state.incidents.merge(&theirs);
                state.stored = text;
                step = observe(&state.incidents);
            }
            Err(()) => store_failures += 1,
        }
    }
    let alert = Alert::of(&answer, &step.alerting, trigger, account, app.env.region.clone(), app.env.function.clone())
        .filter(|a| worth_sending(app.config.alert_on, a));
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
    answer.gauges.store_failures = store_failures + keep(app, kept, budget).await;
    answer
}

/// Under DDNS_ALERT_ON=problems, records that merely changed alert nobody; a change that came
/// with a problem's recovery (a refused delete that went through at last, say) still says the
/// recovery, or the incident would close unsaid.
fn worth_sending(alert_on: AlertOn, alert: &Alert) -> bool {
    alert_on == AlertOn::All || alert.event != AlertKind::Changed || !alert.recovered.is_empty()
}

fn lock(app: &App) -> std::sync::MutexGuard<'_, IncidentState> {
    app.incidents.lock().expect("not poisoned")
}

/// Whether the step would send something about incidents, or store something new: only then is
/// the parameter read again, so a sweep with nothing to say makes no call for it.
fn has_news(step: &Step, stored: Option<&str>, now: u64) -> bool {
    !step.alerting.is_empty() || !step.clone().delivered(now).same_as_stored(stored)
}

/// The parameter's incidents and its text, read within the budget. One this version cannot
/// read counts as empty (the write replaces it); one that cannot be read at all is said once.
async fn read(app: &App, name: &str, budget: &Budget) -> Result<(Incidents, Option<String>), ()> {
    let error = match budget.run(ssm::read(&app.clients, name)).await {
        Ok(Ok(text)) => {
            let theirs = text.as_deref().and_then(|t| Incidents::load(t).ok()).unwrap_or_default();
            return Ok((theirs, text));
        }
        Ok(Err(e)) => e,
        Err(deadline) => deadline.message,
    };
    if app.first_time("incident store read") {
        warn!(error = %error, "the open incidents could not be read again; alerting goes on from memory");
    }
    Err(())
}

/// Keeps the incidents in memory, and writes their parameter (when there is one) when what it
/// holds would change: a parameter not yet made is made for the first open incident. The write
/// runs inside the budget, so a slow SSM cannot hold the answer past the deadline.
/// Returns the store failures not yet counted.
async fn keep(app: &App, kept: Incidents, budget: &Budget) -> usize {
    let name = app.incident_store();
    let text = name.filter(|_| !kept.same_as_stored(lock(app).stored.as_deref())).map(|_| kept.store());
    lock(app).incidents = kept;
    let (Some(name), Some(text)) = (name, text) else { return 0 };
    let error = match budget.run(ssm::write(&app.clients, name, &text)).await {
        Ok(Ok(())) => {
            lock(app).stored = Some(text);
            return 0;
        }
        Ok(Err(e)) => e,
        Err(deadline) => deadline.message,
    };
    if app.first_time("incident store") {
        warn!(error = %error, "the open incidents could not be kept; alerting goes on from memory");
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_problems_only_a_change_alerts_nobody_unless_it_carries_a_recovery() {
        let alert = |event, recovered: &[&str]| Alert {
            recovered: recovered.iter().map(|r| r.to_string()).collect(),
            event,
            ..Alert::test(None, None, None)
        };
        // (alert on, the alert, sent)
        let cases = [
            (AlertOn::All, alert(AlertKind::Changed, &[]), true),
            (AlertOn::Problems, alert(AlertKind::Changed, &[]), false),
            (AlertOn::Problems, alert(AlertKind::Changed, &["Route53Guardrail app.example.com A"]), true),
            (AlertOn::Problems, alert(AlertKind::Failed, &[]), true),
            (AlertOn::Problems, alert(AlertKind::Recovered, &["x"]), true),
        ];
        for (on, a, sent) in cases {
            assert_eq!(worth_sending(on, &a), sent, "{on:?} {:?} {:?}", a.event, a.recovered);
        }
    }
}
