//! The floor under warm CPU, for `./bench.sh`: a Lambda function that makes the same two AWS
//! calls as an in-sync sweep of one record (DescribeInstances, then ListResourceRecordSets at the
//! name), through the same clients, and does nothing else: no event parsing, plan, logs or
//! metrics. What it costs per invocation is what lambda_runtime and the AWS SDK cost, so no
//! change to dynamic-dns-updater's own code can bring a warm invocation below it.
//!
//! Reads INSTANCE_ID, HOSTED_ZONE_ID and RECORD_NAME, as the function's single-record config does.

use aws_sdk_ec2::types::Filter;
use dynamic_dns_updater::edge::Clients;
use dynamic_dns_updater::{current, instances};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let var = |key: &str| std::env::var(key).map_err(|_| format!("{key} is not set"));
    let (instance, zone, name) = (var("INSTANCE_ID")?, var("HOSTED_ZONE_ID")?, var("RECORD_NAME")?);
    let clients = Clients::load().await;
    let (clients, instance, zone, name) = (&clients, &instance, &zone, &name);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let described = clients
            .ec2
            .describe_instances()
            .filters(Filter::builder().name("instance-id").values(instance).build())
            .max_results(instances::PAGE_SIZE)
            .send()
            .await?;
        let ip = described.reservations().iter().flat_map(|r| r.instances()).find_map(|i| i.public_ip_address());
        let listed = clients
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(name)
            .max_items(current::PAGE_SIZE)
            .send()
            .await?;
        Ok::<_, Error>(json!({ "ip": ip, "record_sets": listed.resource_record_sets().len() }))
    }))
    .await
}
