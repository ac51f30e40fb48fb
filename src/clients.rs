//! The AWS clients, built once per process from the usual AWS environment, and the counter of
//! every HTTP attempt they make. Every AWS call of the function goes through these clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::Region;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ec2::config::SharedCredentialsProvider;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::names::Place;

/// Route53's quota is 5 requests a second for a whole account: one request at most every
/// 200 ms keeps any one second of the process's own within it, idle or busy before.
const ROUTE53_SPACING: Duration = Duration::from_millis(200);

/// Counts every HTTP attempt the SDK clients make, retries included.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<AtomicUsize>);

impl CallCounter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct Clients {
    /// EC2 in the function's own account and region.
    pub ec2: aws_sdk_ec2::Client,
    /// EC2 in each target's account and region (DDNS_TARGETS), through the role it names.
    pub targets: Vec<(Place, aws_sdk_ec2::Client)>,
    pub route53: aws_sdk_route53::Client,
    pub ssm: aws_sdk_ssm::Client,
    /// Asks which account the credentials belong to, when the owner id is made from it.
    pub sts: aws_sdk_sts::Client,
    pub calls: CallCounter,
    /// Keeps the process's own Route53 requests within Route53's quota (see [`Clients::paced`]).
    route53_pace: Arc<DefaultDirectRateLimiter>,
}

impl Clients {
    /// The AWS environment with short timeouts and the standard retry policy, which also retries
    /// Route53's PriorRequestNotComplete and EC2's RequestLimitExceeded. The attempt timeout
    /// already bounds a stalled body, so the SDK's separate throughput watch (a timer and a
    /// wrapper around every request and response body) is left off. Where the environment
    /// holds credentials and a region, as Lambda's always does, they are taken straight from it,
    /// without building the rest of the default chains (profile files, SSO, IMDS).
    pub fn loader() -> aws_config::ConfigLoader {
        let mut loader = aws_config::from_env()
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(15))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        if env("AWS_ACCESS_KEY_ID").is_some() && env("AWS_SECRET_ACCESS_KEY").is_some() {
            loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
        }
        if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
            loader = loader.region(Region::new(region));
        }
        loader
    }

    /// The clients of a loaded configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_configs(sdk.into(), sdk.into(), sdk.into(), sdk.into())
    }

    /// The clients of per-service configurations (tests add their own interceptors to these),
    /// each with the call counter.
    pub fn from_configs(
        ec2: aws_sdk_ec2::config::Builder,
        route53: aws_sdk_route53::config::Builder,
        ssm: aws_sdk_ssm::config::Builder,
        sts: aws_sdk_sts::config::Builder,
    ) -> Self {
        let calls = CallCounter::default();
        Self {
            ec2: aws_sdk_ec2::Client::from_conf(ec2.interceptor(calls.clone()).build()),
            targets: Vec::new(),
            route53: aws_sdk_route53::Client::from_conf(route53.interceptor(calls.clone()).build()),
            ssm: aws_sdk_ssm::Client::from_conf(ssm.interceptor(calls.clone()).build()),
            sts: aws_sdk_sts::Client::from_conf(sts.interceptor(calls.clone()).build()),
            calls,
            route53_pace: Arc::new(RateLimiter::direct(Quota::with_period(ROUTE53_SPACING).expect("not zero"))),
        }
    }

    /// These clients, reaching further as `config` says: an EC2 client per target, with the
    /// credentials of the role it names (assumed through STS when first needed, and again
    /// before they expire), and Route53 through DDNS_ROUTE53_ROLE_ARN when it is set. No call
    /// is made here.
    pub async fn reaching(mut self, sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        let assume = |role: &str, external_id: Option<&String>| {
            let builder = AssumeRoleProvider::builder(role).session_name("dynamic-dns-updater").configure(sdk);
            let builder = match external_id {
                Some(id) => builder.external_id(id),
                None => builder,
            };
            async { SharedCredentialsProvider::new(builder.build().await) }
        };
        // One provider for each role, whatever the number of its regions: one STS call for all.
        let mut roles: Vec<(&str, Option<&String>, SharedCredentialsProvider)> = Vec::new();
        for target in &config.targets {
            let Place::Target { region, .. } = &target.place else { continue };
            let (role, external_id) = (target.role_arn.as_str(), target.external_id.as_ref());
            let credentials = match roles.iter().find(|(r, x, _)| *r == role && *x == external_id) {
                Some((.., credentials)) => credentials.clone(),
                None => {
                    let credentials = assume(role, external_id).await;
                    roles.push((role, external_id, credentials.clone()));
                    credentials
                }
            };
            // The same provider, not a copy of it, so the clients share its cached credentials.
            let mut conf = aws_sdk_ec2::config::Builder::from(sdk);
            conf.set_credentials_provider(Some(credentials));
            let conf = conf.region(Region::new(region.clone())).interceptor(self.calls.clone()).build();
            self.targets.push((target.place.clone(), aws_sdk_ec2::Client::from_conf(conf)));
        }
        if let Some(role) = &config.route53_role {
            let mut conf = aws_sdk_route53::config::Builder::from(sdk);
            conf.set_credentials_provider(Some(assume(role, None).await));
            self.route53 = aws_sdk_route53::Client::from_conf(conf.interceptor(self.calls.clone()).build());
        }
        self
    }

    /// These clients with Route53 requests paced at `quota` instead of Route53's own: for a
    /// simulated Route53 in tests, which has no quota to keep within.
    pub fn with_route53_quota(mut self, quota: Quota) -> Self {
        self.route53_pace = Arc::new(RateLimiter::direct(quota));
        self
    }

    /// Route53's client, once a request may go: Route53 answers at most 5 requests a second for a
    /// whole account and throttles the rest, so the process sends its own at most one every
    /// 200 ms, and a large sweep never trips it by itself. The SDK's retries, which come after a
    /// backoff, are not paced again.
    pub async fn paced(&self) -> &aws_sdk_route53::Client {
        self.route53_pace.until_ready().await;
        &self.route53
    }

    /// The EC2 client for instances in `place`, if it is followed.
    pub fn ec2_in(&self, place: &Place) -> Option<&aws_sdk_ec2::Client> {
        match place {
            Place::Home => Some(&self.ec2),
            other => self.targets.iter().find(|(p, _)| p == other).map(|(_, c)| c),
        }
    }

    /// Every place whose instances are followed, the function's own first.
    pub fn places(&self) -> Vec<Place> {
        std::iter::once(Place::Home).chain(self.targets.iter().map(|(p, _)| p.clone())).collect()
    }
}
