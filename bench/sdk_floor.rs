//! The floor under warm CPU, for `./bench.sh`: a Lambda function that makes the same two AWS
//! calls as an in-sync sweep of one record (DescribeInstances, then ListResourceRecordSets at the
//! name), and does nothing else: no event parsing, plan, logs or metrics. Its clients have every
//! optional layer off (retries, timeouts, the identity cache, the stalled-stream watch), so what
//! it costs per invocation is what lambda_runtime and the AWS SDK cost at the least. No change to
//! dynamic-dns-updater's own code or settings can bring a warm invocation below it.
//!
//! Reads INSTANCE_ID, HOSTED_ZONE_ID and RECORD_NAME, as the function's single-record config
//! does, and the usual AWS environment (AWS_ENDPOINT_URL, the region, and credentials from
//! AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).

use aws_config::BehaviorVersion;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::Filter;
use dynamic_dns_updater::ec2;
use dynamic_dns_updater::route53::read;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let var = |key: &str| std::env::var(key).map_err(|_| format!("{key} is not set"));
    let (instance, zone, name) = (var("INSTANCE_ID")?, var("HOSTED_ZONE_ID")?, var("RECORD_NAME")?);
    // Credentials read once, so that no call resolves them again.
    let token = std::env::var("AWS_SESSION_TOKEN").ok();
    let credentials = Credentials::new(var("AWS_ACCESS_KEY_ID")?, var("AWS_SECRET_ACCESS_KEY")?, token, None, "env");
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .identity_cache(IdentityCache::no_cache())
        .credentials_provider(credentials)
        .load()
        .await;
    let (ec2, route53) = (aws_sdk_ec2::Client::new(&sdk), aws_sdk_route53::Client::new(&sdk));
    let (ec2, route53, instance, zone, name) = (&ec2, &route53, &instance, &zone, &name);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let described = ec2
            .describe_instances()
            .filters(Filter::builder().name("instance-id").values(instance).build())
            .max_results(ec2::PAGE_SIZE)
            .send()
            .await?;
        let ip = described.reservations().iter().flat_map(|r| r.instances()).find_map(|i| i.public_ip_address());
        let listed = route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(name)
            .max_items(read::PAGE_SIZE)
            .send()
            .await?;
        Ok::<_, Error>(json!({ "ip": ip, "record_sets": listed.resource_record_sets().len() }))
    }))
    .await
}
