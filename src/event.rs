//! Incoming JSON -> [`Trigger`], or a rejection that says what was received.
//! Dispatch is on the event's shape; nothing here talks to AWS.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::cloudwatch_events::ec2::InstanceStateChange;
use aws_lambda_events::event::cloudwatch_events::tag::TagChangeOnResource;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::instance::InstanceState;
use crate::names::{InstanceId, Place};

const STATE_CHANGE: &str = "EC2 Instance State-change Notification";
const SCHEDULED: &str = "Scheduled Event";
const TAG_CHANGE: &str = "Tag Change on Resource";
const API_CALL: &str = "AWS API Call via CloudTrail";
const SPOT_WARNING: &str = "EC2 Spot Instance Interruption Warning";
const REBALANCE: &str = "EC2 Instance Rebalance Recommendation";

/// What an address event names: the instance whose address changed, the network interface it
/// changed on, or neither (an Elastic IP let go by its association id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressTarget {
    Instance(InstanceId),
    Interface(String),
    Unknown,
}

/// What EC2 will do to a Spot instance two minutes after its interruption warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpotAction {
    Terminate,
    Stop,
    Hibernate,
}

impl SpotAction {
    /// The state the instance is headed for, as the records should see it already.
    pub fn leaving(self) -> InstanceState {
        match self {
            Self::Terminate => InstanceState::ShuttingDown,
            Self::Stop | Self::Hibernate => InstanceState::Stopping,
        }
    }
}

/// Why the function was invoked, and what it should cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    StateChange {
        instance: InstanceId,
        state: InstanceState,
    },
    /// An instance's tags changed; `changed_keys` are the keys that changed.
    TagChange {
        instance: InstanceId,
        changed_keys: Vec<String>,
    },
    Schedule,
    /// `force` lets a sweep past the safety valve.
    Manual {
        instance_ids: Option<Vec<InstanceId>>,
        dry_run: bool,
        force: bool,
    },
    TestWebhook,
    /// Delete every record and marker this owner holds: what a deployment gives back before it
    /// is removed. `settle`: the deployment is being destroyed, so once its triggers are gone the
    /// release waits out invocations still running and looks again.
    Release {
        dry_run: bool,
        settle: bool,
    },
    /// Terraform created or updated the resource that releases the records on destroy: nothing
    /// to do now.
    Deployed,
    /// An instance's address changed while it kept running (an Elastic IP associated or let go,
    /// IPv6 addresses assigned or removed); `cause` says which, in a few words.
    AddressChange {
        target: AddressTarget,
        cause: &'static str,
    },
    /// EC2 takes a Spot instance back in two minutes.
    SpotWarning {
        instance: InstanceId,
        action: SpotAction,
    },
    /// An event that needs no DNS change (a failed API call, a rebalance recommendation); the
    /// note says why.
    Ignored {
        note: String,
    },
}

impl Trigger {
    /// Whether it is about one instance, in the account and region the event comes from.
    pub fn is_about_an_instance(&self) -> bool {
        matches!(
            self,
            Trigger::StateChange { .. }
                | Trigger::TagChange { .. }
                | Trigger::SpotWarning { .. }
                | Trigger::AddressChange { target: AddressTarget::Instance(_) | AddressTarget::Interface(_), .. }
        )
    }

    /// The same trigger about instances in `place`: an event from a target's account and
    /// region is about its instances there.
    pub fn at(self, place: &Place) -> Self {
        match self {
            Trigger::StateChange { instance, state } => Trigger::StateChange { instance: instance.at(place), state },
            Trigger::TagChange { instance, changed_keys } => {
                Trigger::TagChange { instance: instance.at(place), changed_keys }
            }
            Trigger::SpotWarning { instance, action } => Trigger::SpotWarning { instance: instance.at(place), action },
            Trigger::AddressChange { target: AddressTarget::Instance(instance), cause } => {
                Trigger::AddressChange { target: AddressTarget::Instance(instance.at(place)), cause }
            }
            other => other,
        }
    }

    /// A short label for logs, alerts and the response.
    pub fn label(&self) -> String {
        match self {
            Trigger::StateChange { instance, state } => format!("state-change:{instance}:{state}"),
            Trigger::TagChange { instance, .. } => format!("tag-change:{instance}"),
            Trigger::Schedule => "schedule".into(),
            Trigger::Manual { dry_run: true, .. } => "manual:dry-run".into(),
            Trigger::Manual { .. } => "manual".into(),
            Trigger::TestWebhook => "test-webhook".into(),
            Trigger::Release { dry_run: true, .. } => "release:dry-run".into(),
            Trigger::Release { .. } => "release".into(),
            Trigger::Deployed => "deployed".into(),
            Trigger::AddressChange { target: AddressTarget::Instance(id), .. } => format!("address-change:{id}"),
            Trigger::AddressChange { target: AddressTarget::Interface(eni), .. } => format!("address-change:{eni}"),
            Trigger::AddressChange { .. } => "address-change".into(),
            Trigger::SpotWarning { instance, .. } => format!("spot-warning:{instance}"),
            Trigger::Ignored { .. } => "ignored".into(),
        }
    }

    pub fn dry_run(&self) -> bool {
        matches!(self, Trigger::Manual { dry_run: true, .. } | Trigger::Release { dry_run: true, .. })
    }

    pub fn force(&self) -> bool {
        matches!(self, Trigger::Manual { force: true, .. })
    }

    /// Whether a failed invocation of this event should be retried by Lambda: an event names a
    /// change that may otherwise go unseen until the next sweep. A sweep itself never asks,
    /// since the next one is a minute away and retries would only pile up behind it.
    pub fn asks_for_retry(&self) -> bool {
        matches!(
            self,
            Trigger::StateChange { .. }
                | Trigger::TagChange { .. }
                | Trigger::Manual { .. }
                | Trigger::AddressChange { .. }
                | Trigger::SpotWarning { .. }
        )
    }

    /// Why records moved, in a few words, for alerts ("instance started").
    pub fn cause(&self) -> String {
        match self {
            Trigger::StateChange { state: InstanceState::Running, .. } => "instance started".into(),
            Trigger::StateChange { state, .. } => format!("instance {state}"),
            Trigger::TagChange { .. } => "tag changed".into(),
            Trigger::Schedule => "drift corrected".into(),
            Trigger::Manual { .. } => "manual reconcile".into(),
            Trigger::TestWebhook => "test".into(),
            Trigger::Release { .. } => "released".into(),
            Trigger::Deployed => "deployed".into(),
            Trigger::AddressChange { cause, .. } => (*cause).into(),
            Trigger::SpotWarning { .. } => "spot interruption".into(),
            Trigger::Ignored { .. } => "ignored".into(),
        }
    }
}

/// An event this function does not handle; the message names what arrived.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported event: {0}")]
pub struct UnsupportedEvent(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualEvent {
    action: String,
    #[serde(default)]
    instance_ids: Option<Vec<String>>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    force: bool,
    /// Terraform's lifecycle key, when aws_lambda_invocation invokes with lifecycle_scope CRUD.
    #[serde(default)]
    tf: Option<Lifecycle>,
    /// The same key where the module puts it while the release on destroy is off.
    #[serde(default)]
    terraform: Option<Lifecycle>,
}

#[derive(Deserialize)]
struct Lifecycle {
    action: String,
}

/// An EventBridge event's `detail`, decoded as `T`; the error says what was wrong with it.
fn detail<T: DeserializeOwned>(detail: Option<Value>, kind: &str) -> Result<T, String> {
    let detail = detail.filter(|d| !d.is_null()).ok_or_else(|| format!("{kind} event without \"detail\""))?;
    serde_json::from_value(detail).map_err(|e| format!("{kind} detail is malformed ({e})"))
}

/// Turns one invocation payload into a trigger.
pub fn parse(payload: &Value) -> Result<Trigger, UnsupportedEvent> {
    classify(payload).map_err(|why| UnsupportedEvent(format!("{why}; received {}", describe(payload))))
}

/// The trigger a payload asks for, or why it asks for none.
fn classify(payload: &Value) -> Result<Trigger, String> {
    let object = payload.as_object().ok_or_else(|| format!("expected a JSON object, got {}", kind(payload)))?;
    if object.contains_key("action") {
        return parse_manual(payload);
    }
    let source = object.get("source").ok_or("no \"source\" or \"action\" field")?;
    let envelope =
        CloudWatchEvent::<Value>::deserialize(payload).map_err(|e| format!("not an EventBridge event ({e})"))?;
    let detail_type = envelope.detail_type.as_deref().unwrap_or_default();
    match (source.as_str(), detail_type) {
        (Some("aws.ec2"), STATE_CHANGE) => {
            let change: InstanceStateChange = detail(envelope.detail, "state-change")?;
            let instance = InstanceId::parse(&change.instance_id).map_err(|e| format!("state-change detail: {e}"))?;
            let state = InstanceState::parse(&change.state)
                .ok_or_else(|| format!("state-change detail: {:?} is not an EC2 instance state", change.state))?;
            Ok(Trigger::StateChange { instance, state })
        }
        (Some("aws.events"), SCHEDULED) => Ok(Trigger::Schedule),
        (Some("aws.tag"), TAG_CHANGE) => {
            let change: TagChangeOnResource = detail(envelope.detail, "tag-change")?;
            if change.service != "ec2" || change.resource_type != "instance" {
                return Err(format!("tag change on {} {} is not handled", change.service, change.resource_type));
            }
            let arn = envelope.resources.first().map(String::as_str).unwrap_or_default();
            let instance = arn
                .rsplit_once("instance/")
                .and_then(|(_, id)| InstanceId::parse(id).ok())
                .ok_or_else(|| format!("tag-change event without an instance ARN in resources ({arn:?})"))?;
            Ok(Trigger::TagChange { instance, changed_keys: change.changed_tag_keys })
        }
        (Some("aws.ec2"), API_CALL) => api_call(envelope.detail),
        (Some("aws.ec2"), SPOT_WARNING) => {
            let warning: SpotWarningDetail = detail(envelope.detail, "spot-warning")?;
            let instance = InstanceId::parse(&warning.instance_id).map_err(|e| format!("spot-warning detail: {e}"))?;
            let action = match warning.instance_action.as_str() {
                "terminate" => SpotAction::Terminate,
                "stop" => SpotAction::Stop,
                "hibernate" => SpotAction::Hibernate,
                other => {
                    return Err(format!(
                        "spot-warning detail: instance-action {other:?} is not terminate, stop or hibernate"
                    ));
                }
            };
            Ok(Trigger::SpotWarning { instance, action })
        }
        (Some("aws.ec2"), REBALANCE) => {
            Ok(Trigger::Ignored { note: "a rebalance recommendation changes no address; the Spot warning will".into() })
        }
        (Some(source), detail_type) => {
            Err(format!("source {source:?} with detail-type {detail_type:?} is not handled"))
        }
        (None, _) => Err("\"source\" is not a string".into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SpotWarningDetail {
    instance_id: String,
    instance_action: String,
}

/// CloudTrail's record of an EC2 API call, as far as addresses go.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiCall {
    event_source: String,
    event_name: String,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    request_parameters: Option<ApiCallParameters>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiCallParameters {
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    network_interface_id: Option<String>,
}

/// An address API call: which instance (or interface) to reconcile, and why.
fn api_call(detail_value: Option<Value>) -> Result<Trigger, String> {
    let call: ApiCall = detail(detail_value, "api-call")?;
    if call.event_source != "ec2.amazonaws.com" {
        return Err(format!("api-call detail: eventSource {:?} is not ec2.amazonaws.com", call.event_source));
    }
    let cause = match call.event_name.as_str() {
        "AssociateAddress" => "elastic ip associated",
        "DisassociateAddress" => "elastic ip disassociated",
        "AssignIpv6Addresses" => "ipv6 address assigned",
        "UnassignIpv6Addresses" => "ipv6 address unassigned",
        other => {
            return Err(format!(
                "api-call detail: eventName {other:?} is not AssociateAddress, DisassociateAddress, AssignIpv6Addresses or UnassignIpv6Addresses"
            ));
        }
    };
    if let Some(code) = call.error_code {
        return Ok(Trigger::Ignored { note: format!("{} failed ({code}); no address changed", call.event_name) });
    }
    let params = call.request_parameters.unwrap_or(ApiCallParameters { instance_id: None, network_interface_id: None });
    let target = match (params.instance_id, params.network_interface_id) {
        (Some(id), _) => AddressTarget::Instance(InstanceId::parse(&id).map_err(|e| format!("api-call detail: {e}"))?),
        (None, Some(eni)) if eni.starts_with("eni-") && eni.len() <= 32 => AddressTarget::Interface(eni),
        (None, Some(eni)) => return Err(format!("api-call detail: {eni:?} is not a network interface id")),
        (None, None) => AddressTarget::Unknown,
    };
    Ok(Trigger::AddressChange { target, cause })
}

fn parse_manual(payload: &Value) -> Result<Trigger, String> {
    let manual = ManualEvent::deserialize(payload).map_err(|e| format!("manual invocation is malformed ({e})"))?;
    match manual.action.as_str() {
        "reconcile" => {
            let instance_ids = manual
                .instance_ids
                .map(|ids| ids.iter().map(|id| manual_id(id)).collect::<Result<Vec<_>, _>>())
                .transpose()
                .map_err(|e| format!("instance_ids: {e}"))?;
            Ok(Trigger::Manual { instance_ids, dry_run: manual.dry_run, force: manual.force })
        }
        "test-webhook" => Ok(Trigger::TestWebhook),
        // With the release switched off, the module moves Terraform's own key to "terraform"
        // and sends a standing "update": nothing it sends is then a release.
        "release" if manual.terraform.is_some() => Ok(Trigger::Deployed),
        "release" => match manual.tf.as_ref().map(|tf| tf.action.as_str()) {
            None => Ok(Trigger::Release { dry_run: manual.dry_run, settle: false }),
            Some("delete") => Ok(Trigger::Release { dry_run: false, settle: true }),
            Some("create" | "update") => Ok(Trigger::Deployed),
            Some(other) => Err(format!("tf.action {other:?} is not create, update or delete")),
        },
        other => Err(format!("unknown action {other:?} (reconcile, release or test-webhook)")),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A bounded rendering of the payload, for the error message.
fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text }
}

/// An instance id an operator names: the function's own (`i-…`), or a target's, qualified by
/// its account and region (`111122223333/eu-west-1/i-…`).
fn manual_id(id: &str) -> Result<InstanceId, String> {
    InstanceId::holder(id.trim()).filter(|i| !i.is_group()).ok_or_else(|| {
        format!(
            "{id:?} is not an instance id (expected i- and 8 or 17 hex digits, or account/region/i-… for a target's)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        // Read at run time, so a test binary reused from another checkout finds this one's files.
        let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
        let path = format!("{root}/tests/fixtures/{name}");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn fixtures_become_triggers() {
        let id = InstanceId::parse("i-1234567890abcdef0").unwrap();
        assert_eq!(
            parse(&fixture("ec2-state-change-running.json")).unwrap(),
            Trigger::StateChange { instance: id.clone(), state: InstanceState::Running }
        );
        assert_eq!(
            parse(&fixture("ec2-state-change-stopped.json")).unwrap(),
            Trigger::StateChange { instance: id, state: InstanceState::Stopped }
        );
        assert_eq!(parse(&fixture("scheduled-event.json")).unwrap(), Trigger::Schedule);
        assert_eq!(
            parse(&fixture("tag-change-on-resource.json")).unwrap(),
            Trigger::TagChange {
                instance: InstanceId::parse("i-0000000aaaaaaaaaa").unwrap(),
                changed_keys: vec!["a-new-key".into(), "an-existing-key".into(), "an-old-key".into()],
            }
        );
    }

    #[test]
    fn address_events_name_their_instance_interface_or_nothing() {
        let id = |i: &str| InstanceId::parse(i).unwrap();
        let change = |target, cause| Trigger::AddressChange { target, cause };
        assert_eq!(
            parse(&fixture("api-call-associate-address.json")).unwrap(),
            change(AddressTarget::Instance(id("i-0123456789abcdef0")), "elastic ip associated")
        );
        assert_eq!(
            parse(&fixture("api-call-disassociate-address.json")).unwrap(),
            change(AddressTarget::Unknown, "elastic ip disassociated")
        );
        assert_eq!(
            parse(&fixture("api-call-assign-ipv6-addresses.json")).unwrap(),
            change(AddressTarget::Interface("eni-0123456789abcdef0".into()), "ipv6 address assigned")
        );
        assert_eq!(
            parse(&fixture("spot-interruption-warning.json")).unwrap(),
            Trigger::SpotWarning { instance: id("i-1234567890abcdef0"), action: SpotAction::Terminate }
        );
        assert!(matches!(parse(&fixture("rebalance-recommendation.json")).unwrap(), Trigger::Ignored { .. }));
        let mut failed = fixture("api-call-associate-address.json");
        failed["detail"]["errorCode"] = json!("Client.InvalidAllocationID.NotFound");
        assert_eq!(
            parse(&failed).unwrap(),
            Trigger::Ignored {
                note: "AssociateAddress failed (Client.InvalidAllocationID.NotFound); no address changed".into()
            }
        );
        let cause = |t: Trigger| t.cause();
        assert_eq!(cause(parse(&fixture("spot-interruption-warning.json")).unwrap()), "spot interruption");
        assert_eq!(cause(parse(&fixture("api-call-associate-address.json")).unwrap()), "elastic ip associated");
    }

    #[test]
    fn malformed_address_events_say_what_was_wrong() {
        let api = |edit: &dyn Fn(&mut Value)| {
            let mut e = fixture("api-call-associate-address.json");
            edit(&mut e);
            parse(&e).unwrap_err().to_string()
        };
        let spot = |edit: &dyn Fn(&mut Value)| {
            let mut e = fixture("spot-interruption-warning.json");
            edit(&mut e);
            parse(&e).unwrap_err().to_string()
        };
        for (got, want) in [
            (api(&|e| e["detail"] = Value::Null), "api-call event without \"detail\""),
            (
                api(&|e| e["detail"]["eventName"] = json!("RunInstances")),
                "eventName \"RunInstances\" is not AssociateAddress",
            ),
            (
                api(&|e| e["detail"]["eventSource"] = json!("s3.amazonaws.com")),
                "eventSource \"s3.amazonaws.com\" is not ec2.amazonaws.com",
            ),
            (api(&|e| e["detail"]["requestParameters"]["instanceId"] = json!("web-1")), "api-call detail: "),
            (api(&|e| e["detail"]["eventName"] = json!(42)), "api-call detail is malformed"),
            (
                api(&|e| e["detail"]["requestParameters"] = json!({"networkInterfaceId": "vol-1"})),
                "\"vol-1\" is not a network interface id",
            ),
            (
                spot(&|e| e["detail"]["instance-action"] = json!("reboot")),
                "instance-action \"reboot\" is not terminate, stop or hibernate",
            ),
            (spot(&|e| e["detail"] = json!({})), "spot-warning detail is malformed"),
        ] {
            assert!(got.starts_with("unsupported event: ") && got.contains(want), "{want}: {got}");
        }
    }

    #[test]
    fn every_ec2_state_is_accepted_and_others_are_not() {
        let mut e = fixture("ec2-state-change-running.json");
        e["detail"]["state"] = json!("pending");
        assert!(matches!(parse(&e).unwrap(), Trigger::StateChange { state: InstanceState::Pending, .. }));
        e["detail"]["state"] = json!("rebooting");
        assert!(parse(&e).unwrap_err().to_string().contains("\"rebooting\" is not an EC2 instance state"));
    }

    #[test]
    fn causes_read_like_words() {
        let instance = InstanceId::parse("i-12345678").unwrap();
        let state = |state| Trigger::StateChange { instance: instance.clone(), state };
        for (trigger, cause) in [
            (state(InstanceState::Running), "instance started"),
            (state(InstanceState::Stopped), "instance stopped"),
            (state(InstanceState::Terminated), "instance terminated"),
            (Trigger::TagChange { instance: instance.clone(), changed_keys: vec![] }, "tag changed"),
            (Trigger::Schedule, "drift corrected"),
            (Trigger::Manual { instance_ids: None, dry_run: false, force: false }, "manual reconcile"),
            (Trigger::TestWebhook, "test"),
        ] {
            assert_eq!(trigger.cause(), cause, "{trigger:?}");
        }
        assert_eq!(state(InstanceState::ShuttingDown).label(), "state-change:i-12345678:shutting-down");
    }

    #[test]
    fn manual_invocations() {
        assert_eq!(
            parse(&json!({"action":"reconcile"})).unwrap(),
            Trigger::Manual { instance_ids: None, dry_run: false, force: false }
        );
        let t = parse(&json!({"action":"reconcile","instance_ids":["i-12345678"],"dry_run":true})).unwrap();
        assert_eq!(
            t,
            Trigger::Manual {
                instance_ids: Some(vec![InstanceId::parse("i-12345678").unwrap()]),
                dry_run: true,
                force: false
            }
        );
        assert!(t.dry_run());
        assert_eq!(parse(&json!({"action":"test-webhook"})).unwrap(), Trigger::TestWebhook);
        assert_eq!(parse(&json!({"action":"release"})).unwrap(), Trigger::Release { dry_run: false, settle: false });
        let dry = parse(&json!({"action":"release","dry_run":true})).unwrap();
        assert!(dry.dry_run() && dry.label() == "release:dry-run");
    }

    #[test]
    fn terraform_releases_on_destroy_only() {
        let tf =
            |action: &str| json!({"action": "release", "tf": {"action": action, "prev_input": {"action": "release"}}});
        assert_eq!(parse(&tf("create")).unwrap(), Trigger::Deployed);
        assert_eq!(parse(&tf("update")).unwrap(), Trigger::Deployed);
        assert_eq!(parse(&tf("delete")).unwrap(), Trigger::Release { dry_run: false, settle: true });
        // The release switched off: Terraform's key moved, and a standing update in the input.
        let off = json!({"action": "release", "tf": {"action": "update"}, "terraform": {"action": "delete", "prev_input": {}}});
        assert_eq!(parse(&off).unwrap(), Trigger::Deployed);
        let off_create = json!({"action": "release", "tf": {"action": "update"}, "terraform": {"action": "create"}});
        assert_eq!(parse(&off_create).unwrap(), Trigger::Deployed);
        assert!(parse(&tf("explode")).unwrap_err().to_string().contains("tf.action \"explode\""));
    }

    #[test]
    fn bad_events_are_rejected_with_what_arrived() {
        let mut no_detail = fixture("ec2-state-change-running.json");
        no_detail.as_object_mut().unwrap().remove("detail");
        let mut other_source = fixture("scheduled-event.json");
        other_source["source"] = json!("aws.s3");
        let mut bad_id = fixture("ec2-state-change-running.json");
        bad_id["detail"]["instance-id"] = json!("nope");
        for (event, needle) in [
            (json!({}), "no \"source\" or \"action\""),
            (json!([1, 2]), "got an array"),
            (json!("hello"), "got a string"),
            (json!(null), "got null"),
            (no_detail, "without \"detail\""),
            (other_source, "source \"aws.s3\""),
            (bad_id, "not an instance id"),
            (json!({"action":"explode"}), "unknown action \"explode\""),
            (bucket_tags(), "tag change on s3 bucket"),
            (json!({"action":"reconcile","instance_ids":["x"]}), "instance_ids"),
            (json!({"action":"reconcile","dry_run":"yes"}), "malformed"),
            (
                json!({"source": "aws.tag", "detail-type": "Tag Change on Resource", "time": "2018-09-18T20:41:38Z", "resources": []}),
                "without \"detail\"",
            ),
        ] {
            let err = parse(&event).unwrap_err().to_string();
            assert!(err.contains(needle), "{event}: {err}");
            assert!(err.contains("received"), "{err}");
        }
    }

    fn bucket_tags() -> Value {
        let mut e = fixture("tag-change-on-resource.json");
        e["detail"]["service"] = json!("s3");
        e["detail"]["resource-type"] = json!("bucket");
        e
    }

    #[test]
    fn long_payloads_are_cut_in_the_message() {
        let err = parse(&json!({"junk": "x".repeat(5000)})).unwrap_err().to_string();
        assert!(err.len() < 400, "{}", err.len());
    }
}
