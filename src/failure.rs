//! What can go wrong in an invocation: the kinds, the `errorType` name each one has on the wire,
//! which of them a retry of the event could fix, and the classification of AWS SDK errors into
//! them. Holds no client and decides nothing.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Serialize, Serializer};

use crate::names::ZoneId;

/// What went wrong, for the answer, the alert and Lambda's `errorType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    Ec2Denied,
    Ec2Error,
    Route53Denied,
    Route53Throttled,
    Route53Rejected,
    Route53Error,
    /// One of the zone's change guardrails (or a record set protection) refused a change.
    Route53Guardrail,
    /// A configured hosted zone does not exist.
    NoSuchZone,
    /// A managed name holds a record this tool may not touch.
    Conflict,
    /// A tagged name that may not be placed (outside the allowed zones, say).
    Refused,
    /// The plan would delete too much of what this tool owns.
    SafetyValve,
    /// The invocation's event is not one this function handles.
    UnsupportedEvent,
    Deadline,
}

impl FailureKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [FailureKind; 13] = [
        Self::Ec2Denied,
        Self::Ec2Error,
        Self::Route53Denied,
        Self::Route53Throttled,
        Self::Route53Rejected,
        Self::Route53Error,
        Self::Route53Guardrail,
        Self::NoSuchZone,
        Self::Conflict,
        Self::Refused,
        Self::SafetyValve,
        Self::UnsupportedEvent,
        Self::Deadline,
    ];

    /// The name Lambda reports as `errorType` and answers and alerts show as `kind`: a wire
    /// contract that metrics, retries and users' alarms depend on, so written out here once.
    pub fn error_type(self) -> &'static str {
        match self {
            Self::Ec2Denied => "Ec2Denied",
            Self::Ec2Error => "Ec2Error",
            Self::Route53Denied => "Route53Denied",
            Self::Route53Throttled => "Route53Throttled",
            Self::Route53Rejected => "Route53Rejected",
            Self::Route53Error => "Route53Error",
            Self::Route53Guardrail => "Route53Guardrail",
            Self::NoSuchZone => "NoSuchZone",
            Self::Conflict => "Conflict",
            Self::Refused => "Refused",
            Self::SafetyValve => "SafetyValve",
            Self::UnsupportedEvent => "UnsupportedEvent",
            Self::Deadline => "Deadline",
        }
    }

    /// Whether running the same event again later could succeed: throttling that outlasted the
    /// SDK's retries, server errors, timeouts, the deadline. Everything else (a record someone
    /// else owns, a refused name, a denial, a zone that does not exist) needs a person.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::Ec2Error | Self::Route53Error | Self::Route53Throttled | Self::Deadline)
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.error_type())
    }
}

impl Serialize for FailureKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.error_type())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// What it concerns: `ec2`, a zone, or a record.
    pub scope: String,
    pub message: String,
    /// The zone it was seen in, when it came from reading or writing one; `None` when it came
    /// from EC2's answer or the plan as a whole.
    #[serde(skip)]
    pub zone: Option<ZoneId>,
}

impl Failure {
    pub fn new(kind: FailureKind, scope: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind, scope: scope.into(), message: message.into(), zone: None }
    }

    /// `scope: Kind`, or `Kind` when it concerns nothing narrower: how messages start.
    pub fn heading(&self) -> String {
        if self.scope.is_empty() { self.kind.to_string() } else { format!("{}: {}", self.scope, self.kind) }
    }

    pub fn at(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    pub fn in_zone(mut self, zone: &ZoneId) -> Self {
        self.zone = Some(zone.clone());
        self
    }

    /// The invocation's time ran out.
    pub fn deadline() -> Self {
        Self::new(FailureKind::Deadline, "", "gave up: the invocation's deadline is near")
    }

    pub fn from_ec2<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let kind = match err.code() {
            Some("UnauthorizedOperation" | "AccessDenied" | "AuthFailure") => FailureKind::Ec2Denied,
            _ if lacks_credentials(err) => FailureKind::Ec2Denied,
            _ => FailureKind::Ec2Error,
        };
        Self::new(kind, "ec2", sdk_message(err))
    }

    pub fn from_route53<E, R>(err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let kind = match err.code() {
            Some("AccessDenied" | "AccessDeniedException") => FailureKind::Route53Denied,
            Some("Throttling" | "ThrottlingException" | "PriorRequestNotComplete") => FailureKind::Route53Throttled,
            Some("InvalidChangeBatch" | "InvalidInput") => FailureKind::Route53Rejected,
            Some("NoSuchHostedZone") => FailureKind::NoSuchZone,
            _ if lacks_credentials(err) => FailureKind::Route53Denied,
            _ => FailureKind::Route53Error,
        };
        Self::new(kind, "", sdk_message(err))
    }
}

/// The longest an SDK error's message gets: a person reads it in an alert or a terminal.
const MESSAGE_MAX: usize = 300;

/// An SDK error on one short line: the service's error code and message when it answered, else
/// (no answer: a connection refused, no credentials, no region) the chain of causes, each said
/// once. Never the SDK's debug form, which carries headers and the raw body.
pub fn sdk_message<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let SdkError::ServiceError(_) = err
        && let Some(code) = err.code()
    {
        return match err.message() {
            Some(message) => clip(&format!("{code}: {}", first_line(message))),
            None => code.to_string(),
        };
    }
    causes(err)
}

/// Whether a request never went out for want of credentials: no retry helps, a person must
/// give them. A provider that asked STS and was answered with an error (a target's role that
/// refuses or throttles AssumeRole) is not that: the run fails, and is retried.
pub fn lacks_credentials<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let chain = causes(err);
    !matches!(err, SdkError::ServiceError(_) | SdkError::ResponseError(_))
        && chain.contains("credentials")
        && !chain.contains("service error")
}

/// Every cause in an error's chain, outermost first, joined on one line; a cause whose text the
/// next one repeats is said once.
pub fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let text = first_line(&c.to_string()).to_string();
        if !text.is_empty() && !said.iter().any(|s| s.contains(&text)) {
            said.retain(|s| !text.contains(s.as_str()));
            said.push(text);
        }
        cause = c.source();
    }
    clip(&said.join(": "))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

fn clip(line: &str) -> String {
    if line.chars().count() > MESSAGE_MAX {
        format!("{}…", line.chars().take(MESSAGE_MAX).collect::<String>())
    } else {
        line.to_string()
    }
}

/// The innermost cause of an error, on one short line: what a person can act on, without the
/// debug dump of every layer above it.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::error::ErrorMetadata;

    /// An error with a message and, optionally, the error it wraps.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    /// A service's error as the SDK gives it: a code and a message, from a response.
    #[derive(Debug)]
    struct Service(ErrorMetadata);

    impl std::fmt::Display for Service {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl std::error::Error for Service {}

    impl ProvideErrorMetadata for Service {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn layers(chain: &[&'static str]) -> Layer {
        chain.iter().rev().fold(None, |inner, text| Some(Layer(text, inner.map(Box::new)))).unwrap()
    }

    #[test]
    fn causes_are_said_once_each_on_one_short_line() {
        let long: &'static str = "x".repeat(500).leak();
        let cases: [(&[&'static str], &str); 4] = [
            (
                &["dispatch failure", "io error", "Connection refused (os error 111)"],
                "dispatch failure: io error: Connection refused (os error 111)",
            ),
            (&["loading credentials: none found", "none found"], "loading credentials: none found"),
            (&["other", "failed: other"], "failed: other"),
            (&["first line\nsecond line"], "first line"),
        ];
        for (chain, want) in cases {
            assert_eq!(causes(&layers(chain)), want, "{chain:?}");
        }
        assert_eq!(causes(&layers(&[long])).chars().count(), MESSAGE_MAX + 1, "clipped, with an ellipsis");
    }

    #[test]
    fn an_sdk_error_is_its_code_and_message_or_its_causes_never_the_debug_form() {
        let meta = ErrorMetadata::builder().code("AccessDenied").message("not authorized\n<xml/>").build();
        let response = aws_smithy_runtime_api::http::Response::new(
            403u16.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::from("<ErrorResponse>x-amzn-requestid: ...</ErrorResponse>"),
        );
        let denied: SdkError<Service, _> = SdkError::service_error(Service(meta), response);
        assert_eq!(sdk_message(&denied), "AccessDenied: not authorized");
        assert!(!lacks_credentials(&denied));
        assert_eq!(Failure::from_route53(&denied).kind, FailureKind::Route53Denied);

        let refused: SdkError<Service, ()> = SdkError::dispatch_failure(ConnectorError::io(Box::new(layers(&[
            "tcp connect error: Connection refused",
        ]))));
        assert!(sdk_message(&refused).ends_with("tcp connect error: Connection refused"), "{}", sdk_message(&refused));
        assert_eq!(Failure::from_ec2(&refused).kind, FailureKind::Ec2Error, "a retry may reach it");

        let no_credentials: SdkError<Service, ()> = SdkError::dispatch_failure(ConnectorError::other(
            Box::new(layers(&["loading credentials", "no credentials found in chain"])),
            None,
        ));
        assert!(sdk_message(&no_credentials).contains("loading credentials"), "{}", sdk_message(&no_credentials));
        assert!(lacks_credentials(&no_credentials));
        for kind in [Failure::from_ec2(&no_credentials).kind, Failure::from_route53(&no_credentials).kind] {
            assert!(!kind.is_transient(), "{kind}: no retry gives credentials");
        }
    }

    #[test]
    fn error_types_are_pinned() {
        let names: Vec<&str> = FailureKind::ALL.iter().map(|k| k.error_type()).collect();
        assert_eq!(
            names,
            [
                "Ec2Denied",
                "Ec2Error",
                "Route53Denied",
                "Route53Throttled",
                "Route53Rejected",
                "Route53Error",
                "Route53Guardrail",
                "NoSuchZone",
                "Conflict",
                "Refused",
                "SafetyValve",
                "UnsupportedEvent",
                "Deadline",
            ]
        );
        for kind in FailureKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.error_type(), "the answer's kind is the errorType");
            assert_eq!(kind.to_string(), kind.error_type());
        }
        let transient: Vec<&str> =
            FailureKind::ALL.iter().filter(|k| k.is_transient()).map(|k| k.error_type()).collect();
        assert_eq!(transient, ["Ec2Error", "Route53Throttled", "Route53Error", "Deadline"]);
    }
}
