//! Route53 refuses a CREATE of a record set that exists, and the function leans on that rule: a
//! CREATE planned on a read that missed a record written since is refused, read again and planned
//! again, never written over; and a name given back at a stop is created again at the start,
//! whatever else the zone holds. Against moto with Route53's rule (tests/support/moto_route53.py).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::moto::change;
use support::proxy::{Call, FaultProxy};
use support::*;

const NAME: &str = "app.example.com.";
const MARKER: &str = "_ddns-owner.app.example.com.";
/// How long the proxy holds each change batch back: long enough for another writer to get in
/// first, short of the function's five-second attempt timeout.
const HELD: Duration = Duration::from_secs(3);

/// Runs `event` through `app` (whose change batches `proxy` holds back for [`HELD`]) and, once
/// its first change batch has reached the proxy, writes `other` straight to moto: another writer
/// gets to the name between the function's read and its write.
async fn raced(
    app: &dynamic_dns_updater::app::App,
    proxy: &FaultProxy,
    aws: &Aws,
    zone: &str,
    event: &Value,
    other: Vec<aws_sdk_route53::types::Change>,
) -> Value {
    let other_writer = async {
        let start = Instant::now();
        while proxy.count(Call::ChangeRecords) == 0 {
            assert!(start.elapsed() < Duration::from_secs(30), "the function sent no change batch within 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        aws.batch(zone, other).await.unwrap_or_else(|e| {
            panic!("the other writer must get in while the function's write is held back ({HELD:?}): {e}")
        });
    };
    let (answer, ()) = tokio::join!(invoke(app, event), other_writer);
    answer.unwrap()
}

fn problems(r: &Value, kind: &str) -> Vec<String> {
    r["problems"].as_array().unwrap().iter().filter(|p| p["kind"] == kind).map(|p| p["scope"].to_string()).collect()
}

/// How the name is configured in a case.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Listed in DDNS_RECORDS.
    Mapping,
    /// Tagged on the instance (DDNS_TAG_KEY, DDNS_ZONES).
    Tag,
}

#[tokio::test]
async fn a_create_that_meets_a_record_written_since_its_read_is_refused_and_planned_again_on_it() {
    let foreign_marker = "\"heritage=dynamic-dns-updater,owner=someone-else,instance=i-0aaaaaaaaaaaaaaaa,types=A\"";
    let unmarked = || vec![change("CREATE", NAME, "A", 300, &["192.0.2.7"])];
    let foreign = || {
        vec![change("CREATE", NAME, "A", 300, &["192.0.2.7"]), change("CREATE", MARKER, "TXT", 300, &[foreign_marker])]
    };
    // (case, how the name is configured, what the other writer puts there, whether the function
    // takes it over). Every other writer's values differ from the function's. README: a record
    // without a marker is left alone in fleet mode and adopted at a name DDNS_RECORDS lists; a
    // marker of another owner's is never touched.
    let cases = [
        ("a tagged name meets a record without a marker", Mode::Tag, unmarked(), false),
        ("a mapped name meets another owner's marker", Mode::Mapping, foreign(), false),
        ("a mapped name meets a record without a marker", Mode::Mapping, unmarked(), true),
    ];
    for (case, mode, other, adopted) in cases {
        let World { moto, aws, zone, id, records } = world().await;
        let proxy = FaultProxy::start(moto.port, Call::ChangeRecords, HELD);
        let mut vars = vec![("DDNS_OWNER_ID", "race-test")];
        match mode {
            Mode::Mapping => vars.push(("DDNS_RECORDS", &records)),
            Mode::Tag => {
                aws.tag(&id, NAME).await;
                vars.extend([("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str())]);
            }
        }
        let app = app_at(&proxy.endpoint(), &vars).await;
        let before: Vec<_> = other.iter().map(|c| c.resource_record_set().unwrap().clone()).collect();
        let r = raced(&app, &proxy, &aws, &zone, &state_change(&id, "running"), other).await;

        assert!(proxy.count(Call::ListRecords) >= 2, "{case}: the name was read again after the refusal: {r}");
        let sets: Vec<_> = aws.records(&zone).await.into_iter().filter(|s| s.0 == NAME || s.0 == MARKER).collect();
        let theirs: Vec<_> = before
            .iter()
            .map(|set| {
                let values = set.resource_records().iter().map(|v| v.value().to_string()).collect();
                (set.name().to_string(), set.r#type().as_str().to_string(), set.ttl().unwrap(), values)
            })
            .collect();
        if adopted {
            let ip = aws.public_ip(&id).await.unwrap();
            let update = r["changes"].as_array().unwrap().iter().find(|c| c["action"] == "update").cloned();
            assert_eq!(
                update.map(|c| (c["old"].clone(), c["new"].clone(), c["status"].clone())),
                Some((json!("192.0.2.7"), json!(ip), json!("applied"))),
                "{case}: planned again on what the second read found: {r}"
            );
            assert_eq!(
                sets.iter().filter(|s| s.0 == NAME).map(|s| s.3.clone()).collect::<Vec<_>>(),
                [vec![ip]],
                "{case}"
            );
            assert_eq!(sets.iter().filter(|s| s.0 == MARKER).count(), 1, "{case}: marked: {r}");
        } else {
            assert_eq!(sets, theirs, "{case}: the other writer's records stand, alone: {r}");
            assert!(!problems(&r, "Conflict").is_empty(), "{case}: said as a conflict: {r}");
        }
    }
}

#[tokio::test]
async fn a_create_that_meets_our_own_record_written_since_its_read_is_planned_again_on_it() {
    let World { moto, aws, zone, id, records } = world().await;
    let proxy = FaultProxy::start(moto.port, Call::ChangeRecords, HELD);
    let app = app_at(&proxy.endpoint(), &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "race-test")]).await;
    // Another invocation of this function, of a version older than `types=` in markers, wrote the
    // name first, at an address the instance no longer has: ours, with other values on both sides.
    let old_marker = format!("\"heritage=dynamic-dns-updater,owner=race-test,instance={id}\"");
    let marker = format!("\"heritage=dynamic-dns-updater,owner=race-test,instance={id},types=A\"");
    let ours =
        vec![change("CREATE", NAME, "A", 60, &["192.0.2.8"]), change("CREATE", MARKER, "TXT", 60, &[&old_marker])];
    let r = raced(&app, &proxy, &aws, &zone, &state_change(&id, "running"), ours).await;

    let ip = aws.public_ip(&id).await.unwrap();
    let changes: Vec<_> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].clone(), c["old"].clone(), c["new"].clone(), c["status"].clone()))
        .collect();
    assert_eq!(changes, [(json!("update"), json!("192.0.2.8"), json!(ip), json!("applied"))], "{r}");
    let sets: Vec<_> = aws.records(&zone).await.into_iter().filter(|s| s.0 == NAME || s.0 == MARKER).collect();
    assert_eq!(
        sets.iter().map(|s| (s.0.as_str(), s.3.clone())).collect::<Vec<_>>(),
        [(NAME, vec![ip]), (MARKER, vec![marker])],
        "one record set each, at the instance's address: {r}"
    );
    assert!(r["problems"].as_array().unwrap().is_empty(), "{r}");
}

#[tokio::test]
async fn a_tagged_instance_that_stops_and_starts_gets_its_name_back_among_names_after_it() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    let web = "web.dyn.example.com.";
    let web_marker = "_ddns-owner.web.dyn.example.com.";
    // Names that sort after the instance's name and its marker's.
    aws.put(&zone, "CREATE", "zz.dyn.example.com", "A", 300, &["192.0.2.9"]).await;
    let id = aws.run_instance().await;
    aws.tag(&id, web).await;
    let vars = [("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", zone.as_str()), ("DDNS_OWNER_ID", "restart-test")];
    let app = app(&moto, &vars).await;
    invoke(&app, &sweep()).await.unwrap();
    let first = aws.public_ip(&id).await.unwrap();
    assert_eq!(aws.values(&zone, web, "A").await, Some(vec![first.clone()]));
    let marker = aws.values(&zone, web_marker, "TXT").await;
    assert!(marker.is_some());

    aws.stop(&id).await;
    let r = invoke(&app, &state_change(&id, "stopped")).await.unwrap();
    assert_eq!((aws.values(&zone, web, "A").await, aws.values(&zone, web_marker, "TXT").await), (None, None), "{r}");

    aws.start(&id).await;
    let second = aws.public_ip(&id).await.unwrap();
    assert_ne!(first, second, "a stop and start gives a new address");
    let r = invoke(&app, &state_change(&id, "running")).await.unwrap();
    assert!(r["problems"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(aws.values(&zone, web, "A").await, Some(vec![second]), "the name is back at the new address: {r}");
    assert_eq!(aws.values(&zone, web_marker, "TXT").await, marker, "under the same marker: {r}");
}
