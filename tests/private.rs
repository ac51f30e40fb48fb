//! Private hosted zones and split-horizon against moto: the address a record holds follows the
//! zone's type (or a mapping's "address"), a tagged name lands in the public and the private
//! zone of its domain in one pass, and stop and terminate work in a private zone as in a public.

mod support;

use serde_json::{Value, json};
use support::*;

const WEB: &str = "web.example.com.";

async fn a(aws: &Aws, zone: &str, name: &str) -> Option<Vec<String>> {
    aws.values(zone, name, "A").await
}

fn written(r: &Value) -> usize {
    r["changes"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_tagged_name_gets_the_public_address_outside_and_the_private_one_inside() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let (public, private) = (aws.zone("example.com").await, aws.private_zone("example.com").await);
    let id = aws.run_instance().await;
    aws.tag(&id, "web.example.com").await;
    let zones = format!("{public},{private}");
    let app = app(&moto, &[("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &zones), ("DDNS_OWNER_ID", "split")]).await;
    let (public_ip, private_ip) = (aws.public_ip(&id).await.unwrap(), aws.private_ip(&id).await.unwrap());
    assert_ne!(public_ip, private_ip);

    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(a(&aws, &public, WEB).await, Some(vec![public_ip.clone()]), "{r}");
    assert_eq!(a(&aws, &private, WEB).await, Some(vec![private_ip.clone()]), "{r}");
    let marker = format!("\"heritage=dynamic-dns-updater,owner=split,instance={id},types=A\"");
    for zone in [&public, &private] {
        assert_eq!(aws.values(zone, &format!("_ddns-owner.{WEB}"), "TXT").await, Some(vec![marker.clone()]));
    }
    // One DescribeInstances, a listing of each zone, and one change batch per zone.
    assert_eq!(r["aws_calls"], 5, "{r}");

    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((written(&r), r["unchanged"].clone(), r["aws_calls"].clone()), (0, json!(2), json!(3)), "{r}");

    aws.stop(&id).await;
    let r = invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert_eq!(written(&r), 2, "{r}");
    assert_eq!((a(&aws, &public, WEB).await, a(&aws, &private, WEB).await), (None, None), "stopped: deleted in both");
}

#[tokio::test]
async fn mappings_choose_their_address_and_a_private_zone_follows_the_stop_policy() {
    let World { moto, aws, zone: public, id, .. } = world().await;
    let private = aws.private_zone("internal.example").await;
    let (public_ip, private_ip) = (aws.public_ip(&id).await.unwrap(), aws.private_ip(&id).await.unwrap());
    let records = json!([
        {"instance_id": id, "zone_id": private, "name": "db.internal.example"},
        {"instance_id": id, "zone_id": private, "name": "edge.internal.example", "address": "public"},
        {"instance_id": id, "zone_id": public, "name": "inside.example.com", "address": "private"},
        {"instance_id": id, "zone_id": public, "name": "app.example.com"},
    ])
    .to_string();
    for (on_stop, left) in [("keep", true), ("delete", false)] {
        let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "static"), ("DDNS_ON_STOP", on_stop)];
        let app = app(&moto, &vars).await;
        if on_stop == "delete" {
            aws.start(&id).await;
        }
        let public_ip = aws.public_ip(&id).await.unwrap_or(public_ip.clone());
        invoke(&app, &sweep()).await.unwrap();
        assert_eq!(a(&aws, &private, "db.internal.example.").await, Some(vec![private_ip.clone()]), "auto in private");
        assert_eq!(a(&aws, &private, "edge.internal.example.").await, Some(vec![public_ip.clone()]), "forced public");
        assert_eq!(a(&aws, &public, "inside.example.com.").await, Some(vec![private_ip.clone()]), "forced private");
        assert_eq!(a(&aws, &public, "app.example.com.").await, Some(vec![public_ip.clone()]), "auto in public");

        aws.stop(&id).await;
        invoke(&app, &state_change(&id, "stopped")).await.unwrap();
        let kept = a(&aws, &private, "db.internal.example.").await;
        assert_eq!(kept.is_some(), left, "a stopped instance's private record under {on_stop}");
    }
    aws.terminate(&id).await;
    let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "static"), ("DDNS_ON_STOP", "keep")];
    let app = app(&moto, &vars).await;
    invoke(&app, &state_change(&id, "terminated")).await.unwrap();
    assert_eq!(a(&aws, &private, "db.internal.example.").await, None, "terminated: deleted even under keep");
    assert_eq!(a(&aws, &public, "inside.example.com.").await, None);
}

#[tokio::test]
async fn two_allowed_zones_of_one_domain_and_type_are_refused_at_start() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let (a, b) = (aws.zone("example.com").await, aws.zone("example.com").await);
    let zones = format!("{a},{b}");
    let (first, second) = if a < b { (a, b) } else { (b, a) };
    let clients = dynamic_dns_updater::clients::Clients::from_sdk(&moto.sdk().await);
    let err = build(clients, "us-east-1", &[("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &zones), ("DDNS_OWNER_ID", "x")])
        .await
        .unwrap_err();
    assert_eq!(
        err,
        format!(
            "DDNS_ZONES: {first} and {second} are both public zones for example.com; a tagged name could go to either, so list only one"
        )
    );
    let bad = config_err(&[("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", "Z1"), ("DDNS_TAG_ADDRESS", "elastic")]);
    assert_eq!(bad, ["DDNS_TAG_ADDRESS: \"elastic\" is not an address choice (auto, public or private)"]);
    let record = r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com","address":"eip"}]"#;
    assert_eq!(
        config_err(&[("DDNS_RECORDS", record)]),
        ["DDNS_RECORDS[0].address: \"eip\" is not an address choice (auto, public or private)"]
    );
}

fn config_err(vars: &[(&str, &str)]) -> Vec<String> {
    let lookup = |k: &str| vars.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string());
    dynamic_dns_updater::config::Config::from_lookup(lookup).unwrap_err().0
}
