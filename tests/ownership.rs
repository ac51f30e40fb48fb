//! Ownership under overlap and reordering, against moto: the incumbent keeps a name while it
//! still claims it, an event changes only what its own instance holds, a tag that moves passes
//! the name on in either order, and the first sweep's clean-up is done only once it is done.

mod support;

use serde_json::{Value, json};
use support::*;

struct Fleet {
    moto: Moto,
    aws: Aws,
    zone: String,
}

const WEB: &str = "web.dyn.example.com";

async fn fleet() -> Fleet {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    Fleet { moto, aws, zone }
}

impl Fleet {
    async fn app(&self) -> dynamic_dns_updater::app::App {
        let vars = [
            ("DDNS_TAG_KEY", TAG_KEY),
            ("DDNS_ZONES", self.zone.as_str()),
            ("DDNS_TAG_SUFFIXES", "dyn.example.com"),
            ("DDNS_OWNER_ID", "ownership-test"),
        ];
        app(&self.moto, &vars).await
    }

    async fn tagged(&self, names: &str) -> String {
        let id = self.aws.run_instance().await;
        self.aws.tag(&id, names).await;
        id
    }

    /// The address at `web` and the instance its marker names.
    async fn web(&self) -> (Option<Vec<String>>, Option<String>) {
        let a = self.aws.values(&self.zone, &format!("{WEB}."), "A").await;
        let marker = self.aws.values(&self.zone, &format!("_ddns-owner.{WEB}."), "TXT").await;
        let instance = marker.map(|m| {
            let text = m.concat();
            text.split(',').find_map(|kv| kv.strip_prefix("instance=")).unwrap_or_default().to_string()
        });
        (a, instance)
    }

    /// Asserts `web` points at `id`'s address under a marker naming `id`.
    async fn held_by(&self, id: &str, when: &str) {
        let ip = self.aws.public_ip(id).await.unwrap();
        assert_eq!(self.web().await, (Some(vec![ip]), Some(id.to_string())), "{when}");
    }
}

fn tag_change(id: &str) -> Value {
    let mut e = fixture("tag-change-on-resource.json");
    e["resources"] = json!([format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}")]);
    e["detail"]["changed-tag-keys"] = json!([TAG_KEY]);
    e
}

/// The refusals in an answer, as (scope, message).
fn refusals(r: &Value) -> Vec<(String, String)> {
    r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "Refused")
        .map(|p| (p["scope"].as_str().unwrap().to_string(), p["message"].as_str().unwrap().to_string()))
        .collect()
}

fn deletes(r: &Value) -> usize {
    r["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "delete").count()
}

#[tokio::test]
async fn an_overlap_keeps_the_name_with_the_incumbent_then_passes_it_on() {
    let f = fleet().await;
    let old = f.tagged(WEB).await;
    let app = f.app().await;
    invoke(&app, &sweep()).await.unwrap();
    f.held_by(&old, "the first instance takes the name").await;

    // A replacement starts while the old instance still runs, both tagged with the name.
    let new = f.tagged(WEB).await;
    let r = invoke(&app, &state_change(&new, "running")).await.unwrap();
    assert_eq!(deletes(&r), 0, "{r}");
    let refused = refusals(&r);
    assert_eq!(refused.len(), 1, "{r}");
    assert_eq!(refused[0].0, format!("{new} {WEB}"));
    assert!(refused[0].1.starts_with(&format!("held by {old}, the instance its ownership marker names")), "{r}");
    f.held_by(&old, "the newcomer's event leaves the incumbent's name alone").await;
    for _ in 0..2 {
        let r = invoke(&app, &sweep()).await.unwrap();
        assert_eq!((deletes(&r), refusals(&r).len()), (0, 1), "a sweep deletes nothing: {r}");
        f.held_by(&old, "sweeps keep the name with the incumbent").await;
    }

    // The old instance goes: the name passes to the new one in the same invocation.
    f.aws.terminate(&old).await;
    let r = invoke(&app, &state_change(&old, "terminated")).await.unwrap();
    assert!(refusals(&r).is_empty(), "{r}");
    f.held_by(&new, "the terminated incumbent's event hands the name on").await;
    // EC2 still lists the terminated instance with its tag for a while: it claims nothing.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((r["changes"].clone(), refusals(&r).len()), (json!([]), 0), "{r}");
    f.held_by(&new, "a terminated instance still listed is no claimant").await;
}

#[tokio::test]
async fn a_late_terminated_event_leaves_the_new_instances_record_alone() {
    let f = fleet().await;
    let old = f.tagged(WEB).await;
    let app = f.app().await;
    invoke(&app, &sweep()).await.unwrap();
    f.aws.terminate(&old).await;
    let new = f.tagged(WEB).await;
    // The new instance's `running` event arrives first and takes the name over.
    let r = invoke(&app, &state_change(&new, "running")).await.unwrap();
    assert!(refusals(&r).is_empty(), "{r}");
    f.held_by(&new, "the newcomer takes over from a terminated incumbent").await;
    // The old instance's `terminated` event arrives late: it is about the old instance only.
    let r = invoke(&app, &state_change(&old, "terminated")).await.unwrap();
    assert_eq!((r["changes"].clone(), r["markers_changed"].clone()), (json!([]), json!(0)), "{r}");
    f.held_by(&new, "a late event deletes nothing of the new instance's").await;
}

#[tokio::test]
async fn a_tag_moved_from_one_instance_to_another_arrives_in_either_order() {
    for first_from in [true, false] {
        let f = fleet().await;
        let (from, to) = (f.tagged(WEB).await, f.aws.run_instance().await);
        let app = f.app().await;
        invoke(&app, &sweep()).await.unwrap();
        f.held_by(&from, "before the move").await;
        f.aws.untag(&from).await;
        f.aws.tag(&to, WEB).await;
        let order = if first_from { [&from, &to] } else { [&to, &from] };
        for id in order {
            let r = invoke(&app, &tag_change(id)).await.unwrap();
            assert!(refusals(&r).is_empty(), "{r}");
            f.held_by(&to, &format!("after {id}'s tag event (the old holder's first: {first_from})")).await;
        }
        let r = invoke(&app, &sweep()).await.unwrap();
        assert_eq!(r["changes"], json!([]), "{r}");
    }
}

#[tokio::test]
async fn the_first_sweeps_clean_up_held_back_stays_open_until_a_forced_reconcile_does_it() {
    let World { moto, aws, zone, id, .. } = world().await;
    let names: Vec<String> = (0..11).map(|i| format!("n{i}.example.com")).collect();
    let all =
        records_var(&names.iter().map(|n| (id.as_str(), zone.as_str(), n.as_str(), &["A"][..])).collect::<Vec<_>>());
    let before = app(&moto, &[("DDNS_RECORDS", all.as_str()), ("DDNS_OWNER_ID", "valve-test")]).await;
    invoke(&before, &sweep()).await.unwrap();
    let one = records_var(&[(&id, &zone, "n0.example.com", &["A"])]);
    // The configuration now lists one name: a new process, whose first sweep finds ten orphans.
    let app = app(&moto, &[("DDNS_RECORDS", one.as_str()), ("DDNS_OWNER_ID", "valve-test")]).await;
    let valve = |r: &Value| r["problems"].as_array().unwrap().iter().any(|p| p["kind"] == "SafetyValve");
    for sweep_no in 1..=2 {
        let r = invoke(&app, &sweep()).await.unwrap();
        assert!(valve(&r), "sweep {sweep_no} of a warm process still meets the valve: {r}");
        assert_eq!(deletes(&r), 0, "{r}");
    }
    let zone_records = aws.records(&zone).await.len();
    let r = invoke(&app, &json!({"action": "reconcile", "force": true})).await.unwrap();
    assert_eq!(deletes(&r), 10, "a forced reconcile on a warm process does the whole clean-up: {r}");
    assert_eq!(aws.records(&zone).await.len(), zone_records - 20, "ten records and their markers");
    let r = invoke(&app, &sweep()).await.unwrap();
    assert!(!valve(&r) && r["changes"] == json!([]), "{r}");
}
