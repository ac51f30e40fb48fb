//! Address changes that are not state changes, against moto: an Elastic IP associated and let go,
//! IPv6 addresses reassigned on an interface, a failed call, and Spot interruption warnings.

mod support;

use serde_json::{Value, json};
use support::*;

fn api_call(name: &str, parameters: Value) -> Value {
    let mut e = fixture("api-call-associate-address.json");
    e["detail"]["eventName"] = json!(name);
    e["detail"]["requestParameters"] = parameters;
    e
}

fn spot(id: &str, action: &str) -> Value {
    let mut e = fixture("spot-interruption-warning.json");
    e["detail"] = json!({"instance-id": id, "instance-action": action});
    e
}

#[tokio::test]
async fn an_elastic_ip_moves_the_record_at_once_and_back_when_it_is_let_go() {
    let World { moto, aws, zone, id, records } = world().await;
    let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "eip")]).await;
    invoke(&app, &sweep()).await.unwrap();
    let eip = aws.ec2.allocate_address().send().await.unwrap();
    let assoc =
        aws.ec2.associate_address().instance_id(&id).allocation_id(eip.allocation_id().unwrap()).send().await.unwrap();
    let elastic = eip.public_ip().unwrap().to_string();
    assert_eq!(aws.public_ip(&id).await, Some(elastic.clone()));

    let r = invoke(&app, &api_call("AssociateAddress", json!({"instanceId": id, "allocationId": eip.allocation_id()})))
        .await
        .unwrap();
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![elastic.clone()]), "{r}");
    assert_eq!(r["aws_calls"], 3, "one DescribeInstances, one listing, one change: {r}");
    assert_eq!(r["trigger"], format!("address-change:{id}"));

    // Let go by its association id: the event names no instance, so everything is reconciled.
    aws.ec2.disassociate_address().association_id(assoc.association_id().unwrap()).send().await.unwrap();
    let fresh = aws.public_ip(&id).await.unwrap();
    assert_ne!(fresh, elastic);
    let r = invoke(&app, &fixture("api-call-disassociate-address.json")).await.unwrap();
    assert_eq!(aws.values(&zone, "app.example.com.", "A").await, Some(vec![fresh]), "{r}");

    // A call that failed changed nothing, and costs no AWS call.
    let mut failed = api_call("AssociateAddress", json!({"instanceId": id}));
    failed["detail"]["errorCode"] = json!("Client.InvalidAllocationID.NotFound");
    let r = invoke(&app, &failed).await.unwrap();
    assert_eq!((r["aws_calls"].clone(), r["changes"].clone()), (json!(0), json!([])), "{r}");
}

/// moto's DescribeInstances does not take the `network-interface.network-interface-id` filter
/// (it answers 500), so the interface's path runs on scripted answers.
#[tokio::test]
async fn ipv6_addresses_changed_on_an_interface_reach_the_instance_behind_it() {
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
    use aws_sdk_ec2::types::{
        Instance, InstanceIpv6Address, InstanceNetworkInterface, InstanceNetworkInterfaceAttachment, InstanceState,
        InstanceStateName, Reservation,
    };
    use aws_smithy_mocks::mock;
    const ID: &str = "i-1234567890abcdef0";
    let instance = || {
        let nic = InstanceNetworkInterface::builder()
            .network_interface_id("eni-0123456789abcdef0")
            .attachment(InstanceNetworkInterfaceAttachment::builder().device_index(0).build())
            .ipv6_addresses(InstanceIpv6Address::builder().ipv6_address("2600:1f18::2").build())
            .build();
        let state = InstanceState::builder().name(InstanceStateName::Running).build();
        let i = Instance::builder().instance_id(ID).state(state).network_interfaces(nic).build();
        DescribeInstancesOutput::builder().reservations(Reservation::builder().instances(i).build()).build()
    };
    let by_interface = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("network-interface.network-interface-id")))
        .then_output(instance);
    let by_id = mock!(aws_sdk_ec2::Client::describe_instances).then_output(instance);
    let list =
        mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(|| support::mocks::listing(vec![]));
    let change = mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(support::mocks::written);
    let records = records_var(&[(ID, "ZMOCK1", "v6.example.com", &["AAAA"])]);
    let clients = support::mocks::clients(&[&by_interface, &by_id], &[&list, &change]).await;
    let app = app_with(clients, &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "v6")]).await;
    let event =
        api_call("AssignIpv6Addresses", json!({"networkInterfaceId": "eni-0123456789abcdef0", "ipv6AddressCount": 1}));
    let r = invoke(&app, &event).await.unwrap();
    assert_eq!(
        (r["changes"][0]["type"].clone(), r["changes"][0]["new"].clone()),
        (json!("AAAA"), json!("2600:1f18::2")),
        "{r}"
    );
    assert_eq!((by_interface.num_calls(), by_id.num_calls(), list.num_calls(), change.num_calls()), (1, 1, 1, 1));
    assert_eq!(r["aws_calls"], 4, "the interface looked up once, then as for the instance: {r}");
}

#[tokio::test]
async fn a_spot_warning_takes_the_name_away_before_the_address_goes() {
    for (on_stop, action, kept) in
        [("delete", "stop", false), ("keep", "stop", true), ("keep", "hibernate", true), ("keep", "terminate", false)]
    {
        let World { moto, aws, zone, id, records } = world().await;
        let app = app(&moto, &[("DDNS_RECORDS", &records), ("DDNS_OWNER_ID", "spot"), ("DDNS_ON_STOP", on_stop)]).await;
        invoke(&app, &sweep()).await.unwrap();
        let r = invoke(&app, &spot(&id, action)).await.unwrap();
        let a = aws.values(&zone, "app.example.com.", "A").await;
        assert_eq!(a.is_some(), kept, "{on_stop}, {action}: {r}");
        assert_eq!(r["trigger"], format!("spot-warning:{id}"));
    }
}
