//! Reading past one page: ListResourceRecordSets and DescribeInstances answers that are
//! truncated. Route53 against moto, with more record sets than a page of 300 holds; mocked where
//! moto will not do it: a page that ends inside one name's record sets, and DescribeInstances'
//! next token (moto takes about 4 s to answer a page of 1,000 instances, too close to the
//! function's 5 s attempt timeout to test on a shared machine).

mod support;

use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Reservation};
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use aws_smithy_mocks::mock;
use serde_json::{Value, json};
use support::mocks;
use support::*;

/// `count` A records of someone else's, f0000.example.com onwards, written in requests of 1,000
/// (Route53's most per request).
async fn filler(aws: &Aws, zone: &str, count: usize) {
    for start in (0..count).step_by(1000) {
        filler_batch(aws, zone, start..count.min(start + 1000)).await;
    }
}

async fn filler_batch(aws: &Aws, zone: &str, indexes: std::ops::Range<usize>) {
    let changes = indexes.map(|i| {
        let value = ResourceRecord::builder().value("192.0.2.1").build().unwrap();
        let set = ResourceRecordSet::builder()
            .name(format!("f{i:04}.example.com."))
            .r#type(RrType::A)
            .ttl(300)
            .resource_records(value)
            .build()
            .unwrap();
        Change::builder().action(ChangeAction::Create).resource_record_set(set).build().unwrap()
    });
    let batch = ChangeBatch::builder().set_changes(Some(changes.collect())).build().unwrap();
    aws.r53.change_resource_record_sets().hosted_zone_id(zone).change_batch(batch).send().await.unwrap();
}

fn names_of(r: &Value, action: &str) -> Vec<String> {
    let mut names: Vec<String> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == action && c["status"] == "applied")
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn names_on_three_pages_of_a_zone_are_read_in_a_page_each_and_all_released() {
    let World { moto, aws, zone, id, .. } = world().await;
    // 1,200 record sets of someone else's, and ours before, among and after them: the zone
    // (with its NS and SOA, and our markers) fills five pages of 300, and our names lie on three.
    filler(&aws, &zone, 1200).await;
    let names = ["a.example.com", "f0600x.example.com", "z.example.com"];
    let records = records_var(&names.iter().map(|n| (id.as_str(), zone.as_str(), *n, &["A"][..])).collect::<Vec<_>>());
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "paging-test")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(names_of(&r, "create"), names, "{r}");
    let before = aws.records(&zone).await;
    assert_eq!(before.len(), 1208);

    // In sync: one DescribeInstances, and one page from each name that the previous page did
    // not reach (each of the three lies 300 or more record sets past the one before), where the
    // whole zone would take five.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((r["unchanged"].clone(), r["changes"].clone()), (json!(3), json!([])), "{r}");
    assert_eq!(r["aws_calls"], 4, "{r}");

    // A release reads the zone whole, page by page, and deletes ours on every page.
    let r = invoke(&app, &json!({"action": "release"})).await.unwrap();
    assert_eq!(names_of(&r, "delete"), names, "{r}");
    assert_eq!(r["markers_changed"], 3, "{r}");
    // Five pages of the zone, then the records and the markers in a request each.
    assert_eq!(r["aws_calls"], 7, "{r}");
    let left: Vec<_> = aws.records(&zone).await;
    assert_eq!(left.len(), 1202, "the 1,200 others, NS and SOA");
    assert!(
        left.iter().all(|r| r.0.starts_with('f') && r.0.len() == "f0000.example.com.".len() || r.0 == "example.com.")
    );
}

#[tokio::test]
async fn a_fleet_sweep_reads_the_zone_whole_past_its_first_page() {
    let moto = Moto::start();
    let aws = moto.aws().await;
    let zone = aws.zone("example.com").await;
    filler(&aws, &zone, 400).await;
    let id = aws.run_instance().await;
    aws.tag(&id, "late.example.com").await;
    let app = app(&moto, &[("DDNS_TAG_KEY", TAG_KEY), ("DDNS_ZONES", &zone), ("DDNS_OWNER_ID", "paging-test")]).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!(names_of(&r, "create"), ["late.example.com"], "{r}");
    // One DescribeInstances, two pages of the zone (402 record sets), one change request.
    assert_eq!(r["aws_calls"], 4, "{r}");
    let ip = aws.public_ip(&id).await.unwrap();
    assert_eq!(aws.values(&zone, "late.example.com.", "A").await, Some(vec![ip]));
    // The next sweep reads the name alone, past the zone's first page: in sync in 2 calls.
    let r = invoke(&app, &sweep()).await.unwrap();
    assert_eq!((r["unchanged"].clone(), r["changes"].clone(), r["aws_calls"].clone()), (json!(1), json!([]), json!(2)));
}

const ID: &str = "i-1234567890abcdef0";
const OTHER: &str = "i-0fedcba0987654321";
const ZONE: &str = "ZMOCK1";

fn running(id: &str, ip: &str, ipv6: Option<&str>) -> Instance {
    let state = InstanceState::builder().name(InstanceStateName::Running).build();
    Instance::builder()
        .instance_id(id)
        .state(state)
        .public_ip_address(ip)
        .set_ipv6_address(ipv6.map(str::to_string))
        .build()
}

fn described(instance: Instance, next: Option<&str>) -> DescribeInstancesOutput {
    DescribeInstancesOutput::builder()
        .reservations(Reservation::builder().instances(instance).build())
        .set_next_token(next.map(str::to_string))
        .build()
}

#[tokio::test]
async fn a_name_whose_record_sets_run_past_a_page_is_read_on_from_where_the_page_stopped() {
    // The first page ends inside app.example.com's record sets (after its A record, say among
    // weighted records of another type); its AAAA record and its marker are on the next page.
    let marker = format!("\"heritage=dynamic-dns-updater,owner=paging-test,instance={ID},types=A+AAAA\"");
    let first = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| r.start_record_name() == Some("app.example.com.") && r.start_record_type().is_none())
        // Answered once: a reader that asked for this page again would go round for ever.
        .sequence()
        .output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(mocks::record_set("app.example.com.", RrType::A, "3.1.2.4"))
                .is_truncated(true)
                .next_record_name("app.example.com.")
                .next_record_type(RrType::Aaaa)
                .next_record_identifier("weighted-2")
                .max_items(300)
                .build()
                .unwrap()
        })
        .build();
    let rest = mock!(aws_sdk_route53::Client::list_resource_record_sets)
        .match_requests(|r| {
            r.start_record_name() == Some("app.example.com.")
                && r.start_record_type() == Some(&RrType::Aaaa)
                && r.start_record_identifier() == Some("weighted-2")
        })
        .then_output(move || {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(mocks::record_set("app.example.com.", RrType::Aaaa, "2600:1f18::1"))
                .resource_record_sets(mocks::record_set("_ddns-owner.app.example.com.", RrType::Txt, &marker))
                .is_truncated(false)
                .max_items(300)
                .build()
                .unwrap()
        });
    let describe = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| described(running(ID, "3.1.2.4", Some("2600:1f18::1")), None));
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(mocks::written);
    let records = records_var(&[(ID, ZONE, "app.example.com", &["A", "AAAA"])]);
    let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "paging-test")];
    let app = app_with(mocks::clients(&[&describe], &[&first, &rest, &change]).await, &vars).await;
    let r = invoke(&app, &state_change(ID, "running")).await.unwrap();
    assert_eq!((r["changes"].clone(), r["unchanged"].clone()), (json!([]), json!(2)), "both records in sync: {r}");
    assert_eq!((first.num_calls(), rest.num_calls(), change.num_calls()), (1, 1, 0), "{r}");
}

#[tokio::test]
async fn describe_instances_is_paged_at_its_maximum_and_followed_to_its_last_page() {
    let first = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|r| r.next_token().is_none() && r.max_results() == Some(1000))
        .then_output(|| described(running(ID, "3.1.2.4", None), Some("page-2")));
    let second = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|r| r.next_token() == Some("page-2") && r.max_results() == Some(1000))
        .then_output(|| described(running(OTHER, "3.1.2.5", None), None));
    let list = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(|| {
        ListResourceRecordSetsOutput::builder()
            .set_resource_record_sets(Some(vec![]))
            .is_truncated(false)
            .max_items(300)
            .build()
            .unwrap()
    });
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(mocks::written);
    let records = records_var(&[(ID, ZONE, "one.example.com", &["A"]), (OTHER, ZONE, "two.example.com", &["A"])]);
    let vars = [("DDNS_RECORDS", records.as_str()), ("DDNS_OWNER_ID", "paging-test")];
    let app = app_with(mocks::clients(&[&first, &second], &[&list, &change]).await, &vars).await;
    let r = invoke(&app, &sweep()).await.unwrap();
    let got: Vec<(&str, &str)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["new"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("one.example.com", "3.1.2.4"), ("two.example.com", "3.1.2.5")], "{r}");
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}
