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
    let interceptor = |rules: &[&Rule]| {
        let mock = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        let mock = if rules.is_empty() { mock.allow_passthrough() } else { mock };
        rules.iter().fold(mock, |i, r| i.with_rule(r))
    };
    Clients::from_configs(
        aws_sdk_ec2::config::Builder::from(&sdk).interceptor(interceptor(ec2)),
        aws_sdk_route53::config::Builder::from(&sdk).interceptor(interceptor(route53)),
        aws_sdk_ssm::config::Builder::from(&sdk).interceptor(interceptor(ssm)),
        aws_sdk_sts::config::Builder::from(&sdk).interceptor(interceptor(&[&caller()])),
    )
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
