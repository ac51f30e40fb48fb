//! Many accounts and regions from one deployment, against moto: instances of two member
//! accounts (reached through STS AssumeRole) in two regions get their records in one sweep;
//! a member's event is served with that member's client; an event from elsewhere is refused;
//! a target whose role cannot be assumed keeps its records untouched while the others go on;
//! Route53 through a role in a DNS account.

mod support;

use serde_json::{Value, json};
use support::proxy::{Call, Fault, FaultProxy};
use support::*;

const A: &str = "111111111111";
const B: &str = "222222222222";

fn targets(b_role: &str) -> String {
    json!([
        {"account_id": A, "role_arn": format!("arn:aws:iam::{A}:role/ddns-reader"), "regions": ["us-east-1"]},
        {"account_id": B, "role_arn": format!("arn:aws:iam::{B}:role/{b_role}"), "regions": ["eu-west-1"], "external_id": "ddns-test"},
    ])
    .to_string()
}

/// An event from `account` in `region` about `instance`, now in `state`.
fn event_from(account: &str, region: &str, instance: &str, state: &str) -> Value {
    let mut e = state_change(instance, state);
    e["account"] = account.into();
    e["region"] = region.into();
    e
}

struct Estate {
    moto: Moto,
    home: Aws,
    a: Aws,
    b: Aws,
    zone: String,
    ids: [String; 3],
}

/// A zone in the function's account; an instance tagged in it, one in member A (us-east-1) and
/// one in member B (eu-west-1).
async fn estate() -> Estate {
    let moto = Moto::start();
    let home = moto.aws().await;
    let (a, b) = (moto.aws_as(A, "us-east-1").await, moto.aws_as(B, "eu-west-1").await);
    let zone = home.zone("example.com").await;
    let mut ids = Vec::new();
    for (aws, name) in [(&home, "home.example.com"), (&a, "a.example.com"), (&b, "b.example.com")] {
        let id = aws.run_instance().await;
        aws.tag(&id, name).await;
        ids.push(id);
    }
    Estate { moto, home, a, b, zone, ids: ids.try_into().unwrap() }
}

impl Estate {
    fn vars<'a>(&'a self, targets: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &self.zone), ("DDNS_OWNER_ID", "org"), ("DDNS_TARGETS", targets)]
    }

    async fn a_record(&self, name: &str) -> Option<Vec<String>> {
        self.home.values(&self.zone, name, "A").await
    }

    async fn marker(&self, name: &str) -> Option<Vec<String>> {
        self.home.values(&self.zone, &format!("_ddns-owner.{name}"), "TXT").await
    }
}

#[tokio::test]
async fn one_sweep_serves_two_member_accounts_in_two_regions_and_their_events() {
    let e = estate().await;
    let targets = targets("ddns-reader");
    let app = app(&e.moto, &e.vars(&targets)).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((r["errors"].clone(), r["problems"].clone()), (json!([]), json!([])), "{r}");
    let [home, a, b] = &e.ids;
    for (aws, id, name) in
        [(&e.home, home, "home.example.com."), (&e.a, a, "a.example.com."), (&e.b, b, "b.example.com.")]
    {
        assert_eq!(e.a_record(name).await, Some(vec![aws.public_ip(id).await.unwrap()]), "{name}: {r}");
    }
    // Markers say where a member's instance runs; the function's own read as before.
    assert_eq!(
        e.marker("b.example.com.").await.unwrap(),
        [format!("\"heritage=dynamic-dns-updater,owner=org,instance={B}/eu-west-1/{b},types=A\"")]
    );
    assert_eq!(
        e.marker("home.example.com.").await.unwrap(),
        [format!("\"heritage=dynamic-dns-updater,owner=org,instance={home},types=A\"")]
    );
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"], json!([]), "in sync: {r}");

    // A member's event is served with that member's client, at once.
    e.b.stop(b).await;
    let r = invoke(&app, &event_from(B, "eu-west-1", b, "stopped")).await.unwrap();
    assert_eq!(e.a_record("b.example.com.").await, None, "{r}");
    assert_eq!(
        r["aws_calls"],
        json!(6),
        "the instance in member B; every tagged instance in each of the 3 places, since the name it gave up may pass to another; one listing; one change: {r}"
    );

    // The same id from an account that is no target is refused, naming both.
    let err = invoke(&app, &event_from("333333333333", "eu-west-1", a, "stopped")).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("333333333333") && message.contains("eu-west-1"), "{message}");
    assert!(e.a_record("a.example.com.").await.is_some());
}

#[tokio::test]
async fn a_target_whose_role_cannot_be_assumed_keeps_its_records_while_the_others_go_on() {
    let e = estate().await;
    let good = targets("ddns-reader");
    invoke(&app(&e.moto, &e.vars(&good)).await, &sweep()).await.unwrap();
    let b_before = (e.a_record("b.example.com.").await, e.marker("b.example.com.").await);
    assert!(b_before.0.is_some());

    // Member B's role now refuses; member A's instance stops.
    let proxy = FaultProxy::with(e.moto.port, &[(Call::AssumeRole, Fault::Deny("broken-reader"))]);
    let broken = targets("broken-reader");
    let app = app_at(&proxy.endpoint(), &e.vars(&broken)).await;
    e.a.stop(&e.ids[1]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(e.a_record("a.example.com.").await, None, "the other targets are reconciled: {r}");
    assert_eq!(
        (e.a_record("b.example.com.").await, e.marker("b.example.com.").await),
        b_before,
        "not seen is not gone: {r}"
    );
    let errors = r["errors"].to_string() + &r["problems"].to_string();
    assert!(errors.contains(&format!("{B}/eu-west-1")), "a problem of its own: {r}");
    // A home instance naming B's name: B's holder cannot be looked at, so the name stays B's.
    let newcomer = e.home.run_instance().await;
    e.home.tag(&newcomer, "b.example.com").await;
    let err = invoke(&app, &state_change(&newcomer, "running")).await.unwrap_err();
    assert!(err.to_string().contains(&format!("ec2 {B}/eu-west-1")), "the run says why, and is retried: {err}");
    assert_eq!((e.a_record("b.example.com.").await, e.marker("b.example.com.").await), b_before, "{err}");
    // An event about it fails for a retry, and changes nothing.
    let err = invoke(&app, &event_from(B, "eu-west-1", &e.ids[2], "stopped")).await.unwrap_err();
    assert!(err.to_string().contains("broken-reader") || err.to_string().contains("credentials"), "{err}");
    assert_eq!(e.a_record("b.example.com.").await, b_before.0);
}

#[tokio::test]
async fn a_mapping_names_its_account_and_region_and_route53_is_reached_through_the_dns_accounts_role() {
    let moto = Moto::start();
    let dns = moto.aws_as("444444444444", "us-east-1").await;
    let zone = dns.zone("example.com").await;
    let member = moto.aws_as(A, "us-east-1").await;
    let id = member.run_instance().await;
    let records =
        json!([{"instance_id": id, "zone_id": zone, "name": "m.example.com", "account_id": A, "region": "us-east-1"}])
            .to_string();
    let targets =
        json!([{"account_id": A, "role_arn": format!("arn:aws:iam::{A}:role/ddns-reader"), "regions": ["us-east-1"]}])
            .to_string();
    let vars = [
        ("DDNS_RECORDS", records.as_str()),
        ("DDNS_TARGETS", &targets),
        ("DDNS_ROUTE53_ROLE_ARN", "arn:aws:iam::444444444444:role/ddns-dns"),
        ("DDNS_OWNER_ID", "org"),
    ];
    let app = app(&moto, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(dns.values(&zone, "m.example.com.", "A").await, Some(vec![member.public_ip(&id).await.unwrap()]), "{r}");
    // The function's own account has no such zone: the write went to the DNS account's.
    assert!(moto.aws().await.r53.list_hosted_zones().send().await.unwrap().hosted_zones().is_empty());
}

#[tokio::test]
async fn one_role_in_two_regions_is_assumed_once() {
    let moto = Moto::start();
    let zone = moto.aws().await.zone("example.com").await;
    for region in ["us-east-1", "eu-west-1"] {
        let member = moto.aws_as(A, region).await;
        let id = member.run_instance().await;
        member.tag(&id, &format!("{region}.example.com")).await;
    }
    let proxy = FaultProxy::with(moto.port, &[]);
    let targets = json!([{"account_id": A, "role_arn": format!("arn:aws:iam::{A}:role/ddns-reader"),
                          "regions": ["us-east-1", "eu-west-1"]}])
    .to_string();
    let vars = [
        ("DDNS_TAG_KEY", TAG_KEY),
        ("DDNS_ZONES", zone.as_str()),
        ("DDNS_OWNER_ID", "org"),
        ("DDNS_TARGETS", &targets),
    ];
    let app = app_at(&proxy.endpoint(), &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(r["changes"].as_array().unwrap().len(), 2, "both regions' instances: {r}");
    assert_eq!(proxy.count(Call::AssumeRole), 1, "one STS call for the role's two regions");
}
