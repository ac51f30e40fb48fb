//! Plumbing shared by the AWS edges: client set-up, call counting, the invocation's time budget,
//! and turning SDK errors into [`Failure`]s. Decides nothing about records.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;
use tokio::time::Instant;

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

/// The AWS clients, built once per process.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub route53: aws_sdk_route53::Client,
    pub sdk: aws_config::SdkConfig,
    pub calls: CallCounter,
}

impl Clients {
    /// Loads the usual AWS environment (region, credentials, `AWS_ENDPOINT_URL`) through [`Self::loader`].
    pub async fn load() -> Self {
        Self::from_sdk(Self::loader().load().await)
    }

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

    /// Builds the clients from an already loaded configuration.
    pub fn from_sdk(sdk: aws_config::SdkConfig) -> Self {
        let calls = CallCounter::default();
        let ec2 =
            aws_sdk_ec2::Client::from_conf(aws_sdk_ec2::config::Builder::from(&sdk).interceptor(calls.clone()).build());
        let route53 = aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&sdk).interceptor(calls.clone()).build(),
        );
        Self { ec2, route53, sdk, calls }
    }
}

/// The time an invocation may still spend. Every AWS call and the webhook run inside it.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    /// A budget ending `reserve` before Lambda's deadline.
    pub fn until(deadline: SystemTime, reserve: Duration) -> Self {
        let left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
        Self { deadline: Instant::now() + left.saturating_sub(reserve) }
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A budget that ends `reserve` earlier than this one.
    pub fn shortened(&self, reserve: Duration) -> Self {
        let now = Instant::now();
        Self { deadline: (self.deadline - reserve).max(now) }
    }

    /// Runs `fut`, or gives up when the budget is spent.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, Failure> {
        tokio::time::timeout_at(self.deadline, fut).await.map_err(|_| Failure {
            kind: FailureKind::Deadline,
            scope: String::new(),
            message: "gave up: the invocation's deadline is near".into(),
        })
    }
}

/// What went wrong, for the response's errors, the alert and Lambda's errorType.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FailureKind {
    Ec2Denied,
    Ec2Error,
    Route53Denied,
    Route53Throttled,
    Route53Rejected,
    Route53Error,
    Conflict,
    /// A tagged name that may not be placed (outside the allowed zones, say).
    Refused,
    /// The plan would delete too much of what this tool owns.
    SafetyValve,
    /// The invocation's event is not one this function handles.
    UnsupportedEvent,
    Deadline,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// What it concerns: `ec2`, a zone, or a record.
    pub scope: String,
    pub message: String,
}

impl Failure {
    pub fn at(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    pub fn from_ec2<E, R>(err: &aws_sdk_ec2::error::SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let kind = match err.code() {
            Some("UnauthorizedOperation" | "AccessDenied" | "AuthFailure") => FailureKind::Ec2Denied,
            _ => FailureKind::Ec2Error,
        };
        Self { kind, scope: "ec2".into(), message: DisplayErrorContext(err).to_string() }
    }

    pub fn from_route53<E, R>(err: &aws_sdk_route53::error::SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let kind = match err.code() {
            Some("AccessDenied" | "AccessDeniedException") => FailureKind::Route53Denied,
            Some("Throttling" | "ThrottlingException" | "PriorRequestNotComplete") => FailureKind::Route53Throttled,
            Some("InvalidChangeBatch" | "InvalidInput") => FailureKind::Route53Rejected,
            _ => FailureKind::Route53Error,
        };
        Self { kind, scope: String::new(), message: DisplayErrorContext(err).to_string() }
    }
}
