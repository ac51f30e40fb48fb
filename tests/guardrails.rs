//! Route53's change guardrails, against moto with a stand-in in front of it that refuses, as a
//! zone's guardrail would, every change batch holding a chosen change: the other names are
//! written in the same invocation, the refused one is a problem that names the guardrail and
//! the way out, alerted once and tried again each sweep, and it clears once the change goes
//! through. A refusal that names no record is found by halving the batch.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use support::proxy::{Call, Fault, FaultProxy, Guardrail};
use support::*;

/// moto, a zone, the stand-in (off) in front of moto, and a webhook receiver.
struct Guarded {
    /// Kept for the test's length: moto stops when dropped.
    _moto: Moto,
    aws: Aws,
    zone: String,
    guard: Arc<Guardrail>,
    proxy: FaultProxy,
    sink: WebhookSink,
}

async fn guarded(guard: Arc<Guardrail>) -> Guarded {
    guard.set(false);
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let proxy = FaultProxy::with(moto.port, &[(Call::ChangeRecords, Fault::Guardrail(guard.clone()))]);
    Guarded { _moto: moto, aws, zone, guard, proxy, sink: WebhookSink::start(Reply::Statuses(vec![200])) }
}

impl Guarded {
    /// The function, through the stand-in, mapping `names` to their instances; problems alert
    /// at once and clear at once.
    async fn app(&self, names: &[(&str, &str)]) -> dynamic_dns_updater::app::App {
        let mappings: Vec<(&str, &str, &str, &[&str])> =
            names.iter().map(|(id, name)| (*id, self.zone.as_str(), *name, &["A"][..])).collect();
        let vars = [
            ("DDNS_RECORDS", records_var(&mappings)),
            ("DDNS_OWNER_ID", "guardrails-test".to_string()),
            ("DDNS_WEBHOOK_URL", self.sink.url()),
            ("DDNS_ALERT_AFTER", "0".into()),
        ];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app_at(&self.proxy.endpoint(), &vars).await
    }

    fn events(&self) -> Vec<String> {
        self.sink.received().iter().map(|r| r.json()["event"].as_str().unwrap().to_string()).collect()
    }

    fn refused(&self) -> usize {
        self.guard.refused.load(Ordering::SeqCst)
    }

    /// A sweep, and how many change batches it sent.
    async fn sweep(&self, app: &dynamic_dns_updater::app::App) -> (Value, usize) {
        let before = self.proxy.count(Call::ChangeRecords);
        let r = invoke(app, &sweep()).await.expect("a sweep never fails");
        (r, self.proxy.count(Call::ChangeRecords) - before)
    }
}

#[tokio::test]
async fn a_guardrail_keeps_one_name_and_the_others_are_written_in_the_same_sweep() {
    let t = guarded(Guardrail::new("DELETE", "gone.example.com", "A", "ACTIVE_RECORD_CHECK", true)).await;
    let (gone, new) = (t.aws.run_instance().await, t.aws.run_instance().await);
    t.aws.stop(&new).await;
    let app = t.app(&[(&gone, "gone.example.com"), (&new, "new.example.com")]).await;
    let (r, _) = t.sweep(&app).await;
    assert_eq!(t.events(), ["dns.changed"]);
    let old = t.aws.values(&t.zone, "gone.example.com.", "A").await.unwrap_or_else(|| panic!("not written: {r}"));
    // One instance gives its address back as the other starts; the zone's guardrail refuses the
    // delete, which shares a batch with the new name's create.
    t.aws.stop(&gone).await;
    t.aws.start(&new).await;
    t.guard.set(true);
    let (r, batches) = t.sweep(&app).await;
    let address = t.aws.public_ip(&new).await.unwrap();
    assert_eq!(t.aws.values(&t.zone, "new.example.com.", "A").await, Some(vec![address]), "{r}");
    assert_eq!(batches, 2, "the refused batch, then the rest at once: {r}");
    assert_eq!(t.refused(), 1, "a guardrail's refusal is not read and tried again as a name that moved: {r}");
    assert_eq!(t.aws.values(&t.zone, "gone.example.com.", "A").await, Some(old.clone()));
    assert!(t.aws.values(&t.zone, "_ddns-owner.gone.example.com.", "TXT").await.is_some(), "its marker stays with it");
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "one problem for the name, its marker's change aside: {r}");
    assert_eq!(
        (&problems[0]["kind"], &problems[0]["scope"]),
        (&"Route53Guardrail".into(), &"gone.example.com A".into())
    );
    let message = problems[0]["message"].as_str().unwrap();
    for said in ["ACTIVE_RECORD_CHECK", &t.zone, &old[0], "turned off for zone", "queries stop"] {
        assert!(message.contains(said), "{said:?} missing from {message}");
    }
    // Tried again each sweep, alerted once.
    for _ in 0..2 {
        let (r, _) = t.sweep(&app).await;
        assert_eq!(r["problems"][0]["kind"], "Route53Guardrail", "{r}");
    }
    assert_eq!(t.refused(), 3);
    assert_eq!(t.events(), ["dns.changed", "dns.failed"], "one alert for three sweeps");
    let alert = t.sink.received()[1].json();
    assert!(alert["errors"][0]["message"].as_str().unwrap().contains("ACTIVE_RECORD_CHECK"), "{alert}");
    // The guardrail lets it go (the queries stopped): deleted, and the problem clears.
    t.guard.set(false);
    let (r, _) = t.sweep(&app).await;
    assert_eq!(r["problems"], serde_json::json!([]), "{r}");
    assert_eq!(t.aws.values(&t.zone, "gone.example.com.", "A").await, None);
    assert_eq!(t.aws.values(&t.zone, "_ddns-owner.gone.example.com.", "TXT").await, None);
    // The delete and the recovery go out together, as a change.
    assert_eq!(t.events(), ["dns.changed", "dns.failed", "dns.changed"], "{r}");
    assert_eq!(t.sink.received()[2].json()["recovered"][0], "Route53Guardrail: gone.example.com A");
}

#[tokio::test]
async fn a_refusal_that_names_no_record_is_found_by_halving_the_batch() {
    let t = guarded(Guardrail::new("DELETE", "h6.example.com", "A", "ACTIVE_RECORD_CHECK", false)).await;
    let id = t.aws.run_instance().await;
    let names: Vec<String> = (0..8).map(|i| format!("h{i}.example.com")).collect();
    let mappings: Vec<(&str, &str)> = names.iter().map(|n| (id.as_str(), n.as_str())).collect();
    let app = t.app(&mappings).await;
    let (r, batches) = t.sweep(&app).await;
    assert_eq!(batches, 1, "{r}");
    t.aws.stop(&id).await;
    t.guard.set(true);
    let (r, batches) = t.sweep(&app).await;
    // Eight names in one batch: refused; the first four pass; so the last four hold it, halved
    // without being sent whole: h4 and h5 pass; h6 alone is refused; h7 passes.
    assert_eq!(batches, 5, "{r}");
    assert!(batches <= 1 + 2 * 3, "at most twice log2(8) more than the one batch");
    for name in &names {
        let kept = t.aws.values(&t.zone, &format!("{name}."), "A").await.is_some();
        assert_eq!(kept, name == "h6.example.com", "{name}: {r}");
    }
    assert!(t.aws.values(&t.zone, "_ddns-owner.h6.example.com.", "TXT").await.is_some());
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{r}");
    assert_eq!((&problems[0]["kind"], &problems[0]["scope"]), (&"Route53Guardrail".into(), &"h6.example.com A".into()));
}
