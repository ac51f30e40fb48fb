//! The function's clients with every AWS answer scripted by aws-smithy-mocks: for fault
//! sequences moto cannot produce (throttling, 5xx, denials, rejected batches), in-process.
//! Each client keeps the function's own retry and timeout settings.

use aws_config::Region;
use aws_smithy_http_client::test_util::NeverClient;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_smithy_types::body::SdkBody;
use dynamic_dns_updater::clients::Clients;

/// Clients whose calls are answered by `ec2` and `route53` rules, each service's rules matched
/// in order of need (the first rule that matches and is not used up answers).
pub async fn clients(ec2: &[&Rule], route53: &[&Rule]) -> Clients {
    clients_over(create_mock_http_client(), ec2, route53, &[]).await
}

/// The same, with SSM's calls answered by `ssm` rules too.
pub async fn clients_with_ssm(ec2: &[&Rule], route53: &[&Rule], ssm: &[&Rule]) -> Clients {
    clients_over(create_mock_http_client(), ec2, route53, ssm).await
}

/// Clients whose every call hangs: no AWS endpoint ever answers.
pub async fn hanging() -> Clients {
    clients_over(NeverClient::new().into_shared(), &[], &[], &[]).await
}

async fn clients_over(http: SharedHttpClient, ec2: &[&Rule], route53: &[&Rule], ssm: &[&Rule]) -> Clients {
    let sdk = Clients::loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "test"))
        .http_client(http)
        .load()
        .await;
    // Rules answer in order of need; with none, every call goes through to `http`. Route53 also
    // answers GetHostedZone, which every start-up asks of each configured zone.
    let interceptor = |rules: &[&Rule], extra: Option<&Rule>| {
        let mock = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        let mock = if rules.is_empty() { mock.allow_passthrough() } else { mock };
        rules.iter().copied().chain(extra).fold(mock, |i, r| i.with_rule(r))
    };
    let zone = public_zone();
    Clients::from_configs(
        aws_sdk_ec2::config::Builder::from(&sdk).interceptor(interceptor(ec2, None)),
        aws_sdk_route53::config::Builder::from(&sdk).interceptor(interceptor(route53, Some(&zone))),
        aws_sdk_ssm::config::Builder::from(&sdk).interceptor(interceptor(ssm, None)),
        aws_sdk_sts::config::Builder::from(&sdk).interceptor(interceptor(&[&caller()], None)),
    )
}

/// Every zone is a public zone for example.com: what the function learns of each at start-up.
fn public_zone() -> Rule {
    use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
    use aws_sdk_route53::types::{HostedZone, HostedZoneConfig};
    aws_smithy_mocks::mock!(aws_sdk_route53::Client::get_hosted_zone).then_output(|| {
        let config = HostedZoneConfig::builder().private_zone(false).build();
        let zone =
            HostedZone::builder().id("/hostedzone/ZMOCK1").name("example.com.").caller_reference("mock").config(config);
        GetHostedZoneOutput::builder().hosted_zone(zone.build().unwrap()).build()
    })
}

/// STS names the account the mocked credentials belong to.
fn caller() -> Rule {
    aws_smithy_mocks::mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder().account("123456789012").build()
    })
}

/// An AWS error answer in Route53's XML shape.
pub fn route53_error(status: u16, code: &str) -> HttpResponse {
    let xml = format!(
        "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>injected {code}</Message></Error><RequestId>mock</RequestId></ErrorResponse>"
    );
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(xml))
}

/// An AWS error answer in EC2's XML shape.
pub fn ec2_error(status: u16, code: &str) -> HttpResponse {
    let xml = format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>injected {code}</Message></Error></Errors><RequestID>mock</RequestID></Response>"
    );
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(xml))
}

/// Route53's answer to a change batch it took.
pub fn written() -> aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput {
    use aws_sdk_route53::types::{ChangeInfo, ChangeStatus};
    let info = ChangeInfo::builder()
        .id("C1")
        .status(ChangeStatus::Insync)
        .submitted_at(aws_smithy_types::DateTime::from_secs(0))
        .build()
        .unwrap();
    aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput::builder()
        .change_info(info)
        .build()
}

/// A plain record set of one value, TTL 60, as Route53 lists it.
pub fn record_set(
    name: &str,
    rtype: aws_sdk_route53::types::RrType,
    value: &str,
) -> aws_sdk_route53::types::ResourceRecordSet {
    use aws_sdk_route53::types::{ResourceRecord, ResourceRecordSet};
    let value = ResourceRecord::builder().value(value).build().unwrap();
    ResourceRecordSet::builder().name(name).r#type(rtype).ttl(60).resource_records(value).build().unwrap()
}

/// A whole listing, on one page: `sets`, and nothing after them.
pub fn listing(
    sets: Vec<aws_sdk_route53::types::ResourceRecordSet>,
) -> aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput {
    aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput::builder()
        .set_resource_record_sets(Some(sets))
        .is_truncated(false)
        .max_items(300)
        .build()
        .unwrap()
}
