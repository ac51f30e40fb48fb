//! Groups against moto: one name answering with every running member of a group, members
//! leaving on their events, the last one taking the record and its marker with it, names made
//! per member from a template, a group and a single claim on one name refused, the cap, a
//! static group in DDNS_RECORDS, and an instance refresh that never leaves the name empty.

mod support;

use aws_sdk_ec2::types::Tag;
use serde_json::{Value, json};
use support::*;

const GROUP_KEY: &str = "ddns:group";
const WEB: &str = "web.example.com.";

struct Groups {
    moto: Moto,
    aws: Aws,
    zone: String,
}

async fn groups() -> Groups {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    Groups { moto, aws, zone }
}

impl Groups {
    /// A running instance carrying `value` under `key`.
    async fn member(&self, key: &str, value: &str) -> String {
        let id = self.aws.run_instance().await;
        self.tag(&id, key, value).await;
        id
    }

    async fn tag(&self, id: &str, key: &str, value: &str) {
        self.aws
            .ec2
            .create_tags()
            .resources(id)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .unwrap();
    }

    async fn app(&self, extra: &[(&str, &str)]) -> dynamic_dns_updater::app::App {
        let mut vars =
            vec![("DDNS_GROUP_TAG_KEY", GROUP_KEY), ("DDNS_ZONES", self.zone.as_str()), ("DDNS_OWNER_ID", "groups")];
        vars.extend_from_slice(extra);
        app(&self.moto, &vars).await
    }

    /// The A record's values at `name`, sorted.
    async fn a(&self, name: &str) -> Option<Vec<String>> {
        let mut values = self.aws.values(&self.zone, name, "A").await?;
        values.sort_by_key(|v| v.parse::<std::net::IpAddr>().ok());
        Some(values)
    }

    async fn marker(&self, name: &str) -> Option<Vec<String>> {
        self.aws.values(&self.zone, &format!("_ddns-owner.{name}"), "TXT").await
    }

    /// The public addresses of `ids`, sorted as the record holds them.
    async fn ips(&self, ids: &[&String]) -> Vec<String> {
        let mut ips = Vec::new();
        for id in ids {
            ips.push(self.aws.public_ip(id).await.unwrap());
        }
        ips.sort_by_key(|v| v.parse::<std::net::IpAddr>().ok());
        ips
    }
}

fn tag_change(id: &str, key: &str) -> Value {
    let mut e = fixture("tag-change-on-resource.json");
    e["resources"] = json!([format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}")]);
    e["detail"]["changed-tag-keys"] = json!([key]);
    e
}

#[tokio::test]
async fn a_group_name_answers_with_its_running_members_and_follows_them_one_event_at_a_time() {
    let g = groups().await;
    let (a, b, c) = (
        g.member(GROUP_KEY, "web.example.com").await,
        g.member(GROUP_KEY, "web.example.com, all.example.com").await,
        g.member(GROUP_KEY, "web.example.com").await,
    );
    let app = g.app(&[]).await;

    let r = invoke(&app, &sweep()).await.unwrap();
    assert!(r["problems"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(g.a(WEB).await, Some(g.ips(&[&a, &b, &c]).await), "one set of three addresses");
    assert_eq!(g.a("all.example.com.").await, Some(g.ips(&[&b]).await));
    assert_eq!(
        g.marker(WEB).await,
        Some(vec!["\"heritage=dynamic-dns-updater,owner=groups,group=true,types=A\"".into()])
    );
    let ttl = g.aws.records(&g.zone).await.into_iter().find(|r| r.0 == WEB && r.1 == "A").unwrap().2;
    assert_eq!(ttl, 60, "DDNS_TTL's default");

    // In sync: one DescribeInstances page and one listing page, no writes.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((r["changes"].clone(), r["aws_calls"].clone()), (json!([]), json!(2)), "{r}");

    // A member stops: the set drops to two on its event, reading only what its group needs.
    g.aws.stop(&a).await;
    let r = invoke(&app, &state_change(&a, "stopped")).await.unwrap();
    assert_eq!(g.a(WEB).await, Some(g.ips(&[&b, &c]).await), "{r}");
    assert_eq!(
        r["aws_calls"],
        json!(4),
        "the instance, its group's members (one filtered call), one listing, one change: {r}"
    );

    // Another loses the group tag: it leaves on its tag event.
    let untag = Tag::builder().key(GROUP_KEY).build();
    g.aws.ec2.delete_tags().resources(&b).tags(untag).send().await.unwrap();
    let r = invoke(&app, &tag_change(&b, GROUP_KEY)).await.unwrap();
    assert_eq!(g.a(WEB).await, Some(g.ips(&[&c]).await), "{r}");
    assert_eq!(g.a("all.example.com.").await, None, "its only member left: {r}");
    assert_eq!(g.marker("all.example.com.").await, None);

    // The last member goes: the record and its marker with it.
    g.aws.terminate(&c).await;
    let r = invoke(&app, &state_change(&c, "terminated")).await.unwrap();
    assert_eq!(g.a(WEB).await, None, "{r}");
    assert_eq!(g.marker(WEB).await, None, "{r}");
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"], json!([]), "{r}");
}

#[tokio::test]
async fn a_template_gives_each_member_a_name_of_its_own() {
    let g = groups().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(g.member(TAG_KEY, "{id}.nodes.example.com").await);
    }
    let zoned = g.member(TAG_KEY, "{az}-{id}.zones.example.com").await;
    let bad = g.member(TAG_KEY, "{name}.nodes.example.com").await;
    let app = g.app(&[("DDNS_TAG_KEY", TAG_KEY)]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    for id in &ids {
        assert_eq!(g.a(&format!("{id}.nodes.example.com.")).await, Some(g.ips(&[id]).await), "{r}");
    }
    let out = g.aws.ec2.describe_instances().instance_ids(&zoned).send().await.unwrap();
    let az = out.reservations()[0].instances()[0].placement().unwrap().availability_zone().unwrap().to_string();
    assert_eq!(g.a(&format!("{az}-{zoned}.zones.example.com.")).await, Some(g.ips(&[&zoned]).await), "{r}");
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{r}");
    let problem = problems[0].to_string();
    assert!(problem.contains(&bad) && problem.contains("unknown placeholder {name}"), "{problem}");
}

#[tokio::test]
async fn a_name_claimed_as_a_group_and_by_one_instance_is_refused_and_left_as_it_is() {
    let g = groups().await;
    let (a, b) = (g.member(GROUP_KEY, "web.example.com").await, g.member(GROUP_KEY, "web.example.com").await);
    let app = g.app(&[("DDNS_TAG_KEY", TAG_KEY)]).await;
    invoke(&app, &sweep()).await.unwrap();
    let before = (g.a(WEB).await, g.marker(WEB).await);
    assert_eq!(before.0, Some(g.ips(&[&a, &b]).await));

    let single = g.member(TAG_KEY, "web.example.com").await;
    g.aws.stop(&a).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"], json!([]), "nothing written while the claims clash: {r}");
    assert_eq!((g.a(WEB).await, g.marker(WEB).await), before, "whatever was there stays");
    let problems = r["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{r}");
    assert_eq!(problems[0]["kind"], "Refused");
    let message = problems[0]["message"].as_str().unwrap();
    for side in [&single, &a, &b] {
        assert!(message.contains(side.as_str()), "the problem names both sides ({side}): {message}");
    }
}

#[tokio::test]
async fn an_event_about_one_instance_never_takes_a_name_from_a_group_nor_a_group_from_a_mapping() {
    let g = groups().await;
    let (a, b) = (g.member(GROUP_KEY, "web.example.com").await, g.member(GROUP_KEY, "web.example.com").await);
    let mapped = g.aws.run_instance().await;
    let records = json!([{"instance_id": mapped, "zone_id": g.zone, "name": "db.example.com"}]).to_string();
    let app = g.app(&[("DDNS_TAG_KEY", TAG_KEY), ("DDNS_RECORDS", &records)]).await;
    invoke(&app, &sweep()).await.unwrap();
    let before = (g.a(WEB).await, g.marker(WEB).await, g.a("db.example.com.").await, g.marker("db.example.com.").await);
    assert_eq!(before.0, Some(g.ips(&[&a, &b]).await));
    // One instance's name tag at the group's name, and a member's group tag at the mapped name,
    // each seen first through its own instance's event.
    let single = g.member(TAG_KEY, "web.example.com").await;
    let r = invoke(&app, &state_change(&single, "running")).await.unwrap();
    assert_eq!(r["changes"], json!([]), "{r}");
    assert!(r["problems"].to_string().contains(&single), "{r}");
    g.tag(&a, GROUP_KEY, "web.example.com,db.example.com").await;
    let r = invoke(&app, &tag_change(&a, GROUP_KEY)).await.unwrap();
    assert!(r["problems"].to_string().contains(&mapped), "the refusal names the mapping's instance: {r}");
    let after = (g.a(WEB).await, g.marker(WEB).await, g.a("db.example.com.").await, g.marker("db.example.com.").await);
    assert_eq!(after, before, "{r}");
}

#[tokio::test]
async fn a_group_holds_at_most_ddns_group_max_addresses_those_of_the_lowest_ids() {
    let g = groups().await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(g.member(GROUP_KEY, "web.example.com").await);
    }
    ids.sort();
    let app = g.app(&[("DDNS_GROUP_MAX", "2")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(g.a(WEB).await, Some(g.ips(&[&ids[0], &ids[1]]).await), "{r}");
    // The choice is stable: an in-sync sweep changes nothing.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"], json!([]), "{r}");
    // One of them stops: the next lowest takes its place.
    g.aws.stop(&ids[0]).await;
    let r = invoke(&app, &state_change(&ids[0], "stopped")).await.unwrap();
    assert_eq!(g.a(WEB).await, Some(g.ips(&[&ids[1], &ids[2]]).await), "{r}");
}

#[tokio::test]
async fn a_static_group_in_ddns_records_holds_its_running_members() {
    let g = groups().await;
    let (a, b) = (g.aws.run_instance().await, g.aws.run_instance().await);
    let records = json!([{"instance_ids": [a, b], "zone_id": g.zone, "name": "static.example.com"}]).to_string();
    let app = app(&g.moto, &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "groups")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(g.a("static.example.com.").await, Some(g.ips(&[&a, &b]).await), "{r}");
    g.aws.stop(&b).await;
    let r = invoke(&app, &state_change(&b, "stopped")).await.unwrap();
    assert_eq!(g.a("static.example.com.").await, Some(g.ips(&[&a]).await), "{r}");
    g.aws.stop(&a).await;
    let r = invoke(&app, &state_change(&a, "stopped")).await.unwrap();
    assert_eq!(g.a("static.example.com.").await, None, "{r}");
    assert_eq!(g.marker("static.example.com.").await, None, "{r}");
}

#[tokio::test]
async fn an_instance_refresh_never_leaves_the_name_empty() {
    let g = groups().await;
    let old = [g.member(GROUP_KEY, "web.example.com").await, g.member(GROUP_KEY, "web.example.com").await];
    let app = g.app(&[]).await;
    invoke(&app, &sweep()).await.unwrap();
    // New members start before old ones terminate, one at a time, each on its own event.
    let mut fresh = Vec::new();
    for old in &old {
        let new = g.member(GROUP_KEY, "web.example.com").await;
        let r = invoke(&app, &state_change(&new, "running")).await.unwrap();
        assert!(g.a(WEB).await.unwrap().contains(&g.aws.public_ip(&new).await.unwrap()), "{r}");
        fresh.push(new);
        g.ec2_terminate_with_events(&app, old).await;
    }
    assert_eq!(g.a(WEB).await, Some(g.ips(&fresh.iter().collect::<Vec<_>>()).await));
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"], json!([]), "{r}");
}

impl Groups {
    /// Terminates `id` with its `shutting-down` and `terminated` events, checking after each
    /// that the name still answers and no longer holds the leaving member's address.
    async fn ec2_terminate_with_events(&self, app: &dynamic_dns_updater::app::App, id: &str) {
        // moto clears the public address at terminate: read it before.
        let leaving = self.aws.public_ip(id).await.expect("a running member has a public address");
        self.aws.terminate(id).await;
        for state in ["shutting-down", "terminated"] {
            let r = invoke(app, &state_change(id, state)).await.unwrap();
            let now = self.a(WEB).await;
            assert!(now.as_ref().is_some_and(|v| !v.is_empty()), "the name went dark at {state}: {r}");
            assert!(!now.unwrap().contains(&leaving), "{leaving} of {id} still answers after {state}: {r}");
        }
    }
}

#[tokio::test]
async fn with_ddns_alert_on_problems_records_that_merely_change_alert_nobody() {
    let g = groups().await;
    g.member(GROUP_KEY, "web.example.com").await;
    let sink = WebhookSink::start(Reply::Statuses(vec![200]));
    let url = sink.url();
    let app = g.app(&[("DDNS_WEBHOOK_URL", &url), ("DDNS_ALERT_ON", "problems"), ("DDNS_ALERT_AFTER", "0")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 1, "{r}");
    assert!(sink.received().is_empty(), "no change alert");
    // A problem still alerts.
    g.member(GROUP_KEY, "bad name.example.com").await;
    invoke(&app, &sweep()).await.unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["event"], "dns.failed");
}
