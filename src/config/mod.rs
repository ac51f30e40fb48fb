//! Environment -> typed [`Config`], read once at start-up. Every bad variable is reported at
//! once, each error naming the variable. Secrets are redacted from `Debug`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Deserialize;

pub use crate::names::AddressChoice;
use crate::names::{InstanceId, Place, RecordName, RecordType, ZoneId, check_account};

mod webhook;

pub use webhook::{Secret, Source, WebhookFormat, WebhookSettings, WebhookUrl, parse_secret};

pub const DEFAULT_TTL: u32 = 60;
pub const MAX_TTL: u32 = 86_400;
/// The function's name when Lambda gives none (the CLI, tests): in alerts, metrics and the
/// owner id made when DDNS_OWNER_ID is unset.
pub const DEFAULT_NAME: &str = "dynamic-dns-updater";
/// An invocation's time when the runtime's deadline cannot be trusted: Terraform's default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an open incident is alerted again, by default.
pub const DEFAULT_ALERT_REPEAT: Duration = Duration::from_secs(6 * 3600);
/// How often a sweep reads the zones whole when DDNS_FULL_READ does not say.
pub const DEFAULT_FULL_READ: Duration = Duration::from_secs(3600);
/// How long an error a retry could fix must last before it alerts, by default.
pub const DEFAULT_ALERT_AFTER: Duration = Duration::from_secs(5 * 60);
/// Lambda's longest timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
/// How many addresses a group's record set holds at most, by default: an answer that stays
/// well within DNS's 512 bytes, as Route53's multivalue answers do.
pub const DEFAULT_GROUP_MAX: usize = 8;
/// The most DDNS_GROUP_MAX may allow: Route53's limit of values in one record set is far
/// beyond it, but an answer of 400 addresses is already some 6.5 KB over TCP.
pub const MAX_GROUP_MAX: usize = 400;

/// One record name kept pointed at one instance, or at the running ones of a static group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The instance; for a static group, [`InstanceId::group`].
    pub instance: InstanceId,
    /// A static group's members (`instance_ids`); empty for one instance.
    pub members: Vec<InstanceId>,
    pub zone: ZoneId,
    pub name: RecordName,
    pub ttl: u32,
    pub types: Vec<RecordType>,
    /// Which of the instance's addresses its A record holds.
    pub address: AddressChoice,
}

impl Mapping {
    /// The instances whose addresses it holds.
    pub fn ids(&self) -> &[InstanceId] {
        if self.members.is_empty() { std::slice::from_ref(&self.instance) } else { &self.members }
    }

    /// Whether it holds this instance's address.
    pub fn follows(&self, id: &InstanceId) -> bool {
        self.ids().contains(id)
    }
}

/// Another account and region whose instances the function follows (DDNS_TARGETS): it assumes
/// `role_arn` there to describe them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub place: Place,
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// Which alerts the webhook gets (DDNS_ALERT_ON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertOn {
    /// Records changed, problems, and their recoveries.
    All,
    /// Problems and their recoveries only.
    Problems,
}

/// What happens to the records of an instance that no longer holds its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStop {
    /// Remove them: a released public IP goes to someone else.
    Delete,
    /// Leave them as they are.
    Keep,
}

/// Fleet mode: instances name themselves, or the groups they belong to, with tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The tag whose value lists an instance's own names, comma-separated (DDNS_TAG_KEY).
    pub tag_key: Option<String>,
    /// The tag whose value lists the group names an instance answers in (DDNS_GROUP_TAG_KEY).
    pub group_key: Option<String>,
    /// The record types discovered names get.
    pub types: Vec<RecordType>,
    /// The only zones discovered names may be placed in.
    pub zones: Vec<ZoneId>,
    /// When set, a tagged name must lie below one of these (DDNS_TAG_SUFFIXES).
    pub suffixes: Vec<RecordName>,
    /// Tags may claim zone apexes and wildcard names (DDNS_TAG_ALLOW_WILDCARDS).
    pub allow_wildcards: bool,
    /// Which address tagged names' A records hold (DDNS_TAG_ADDRESS).
    pub address: AddressChoice,
}

impl Discovery {
    /// The tag keys that name names, to describe the instances that carry either.
    pub fn keys(&self) -> Vec<&str> {
        self.tag_key.iter().chain(&self.group_key).map(String::as_str).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub mappings: Vec<Mapping>,
    pub discovery: Option<Discovery>,
    /// Who owns the records this copy writes, as written in their ownership markers
    /// (DDNS_OWNER_ID); unset, the App makes one of the function's name, region and account.
    pub owner_id: Option<String>,
    /// The owner id an earlier version wrote by default, whose markers this copy takes over:
    /// DDNS_LEGACY_OWNER_ID, or with no DDNS_OWNER_ID the function's name.
    pub legacy_owner: Option<String>,
    pub default_ttl: u32,
    pub on_stop: OnStop,
    pub webhook: Option<WebhookSettings>,
    /// An invocation's time when the runtime's deadline cannot be trusted (DDNS_TIMEOUT).
    pub timeout: Duration,
    /// How often an open incident is alerted again; `None` never (DDNS_ALERT_REPEAT).
    pub alert_repeat: Option<Duration>,
    /// How long an error a retry could fix must last before it alerts, and an incident stay
    /// clear before its recovery is said; zero: at once (DDNS_ALERT_AFTER).
    pub alert_after: Duration,
    /// The SSM parameter that keeps open incidents across cold starts; `None` keeps them in
    /// memory only (DDNS_INCIDENTS_PARAMETER, by default one named after the function).
    pub incidents_parameter: Option<String>,
    /// How long a sweep's knowledge of the names our markers guard holds before the zones are
    /// read whole again (DDNS_FULL_READ); zero: every sweep reads them whole.
    pub full_read: Duration,
    /// How many addresses one group's record set holds at most (DDNS_GROUP_MAX).
    pub group_max: usize,
    /// Which alerts the webhook gets (DDNS_ALERT_ON).
    pub alert_on: AlertOn,
    /// The other accounts and regions whose instances it follows, one per region (DDNS_TARGETS).
    pub targets: Vec<Target>,
    /// The role to assume for every Route53 call, when the zones live in another account
    /// (DDNS_ROUTE53_ROLE_ARN).
    pub route53_role: Option<String>,
}

impl Config {
    /// The parameter that keeps open incidents, when there is one to keep: only alerts need to
    /// survive a cold start, so only with a webhook.
    pub fn incident_store(&self) -> Option<&str> {
        self.incidents_parameter.as_deref().filter(|_| self.webhook.is_some())
    }

    /// Whether instances in `place` are followed: the function's own, and the targets'.
    pub fn follows(&self, place: &Place) -> bool {
        *place == Place::Home || self.targets.iter().any(|t| t.place == *place)
    }

    /// Every name the operator's mappings configure, in its zone.
    pub fn configured_names(&self) -> HashSet<(ZoneId, RecordName)> {
        self.mappings.iter().map(|m| (m.zone.clone(), m.name.clone())).collect()
    }

    /// Every zone the function may read or write: the mappings' zones and the allow-list.
    pub fn zones(&self) -> Vec<ZoneId> {
        let mut zones: Vec<ZoneId> = self.mappings.iter().map(|m| m.zone.clone()).collect();
        zones.extend(self.discovery.iter().flat_map(|d| d.zones.iter().cloned()));
        zones.sort();
        zones.dedup();
        zones
    }
}

/// Every problem found in the environment, one line each.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    instance_id: Option<String>,
    instance_ids: Option<Vec<String>>,
    zone_id: String,
    name: String,
    ttl: Option<i64>,
    types: Option<Vec<String>>,
    address: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    account_id: String,
    role_arn: String,
    regions: Vec<String>,
    external_id: Option<String>,
}

/// Every variable the configuration reads, for the start-up warnings about the environment.
pub const VARIABLES: [&str; 30] = [
    "DDNS_RECORDS",
    "INSTANCE_ID",
    "HOSTED_ZONE_ID",
    "RECORD_NAME",
    "DDNS_TTL",
    "DDNS_ON_STOP",
    "DDNS_OWNER_ID",
    "DDNS_LEGACY_OWNER_ID",
    "DDNS_TAG_KEY",
    "DDNS_GROUP_TAG_KEY",
    "DDNS_GROUP_MAX",
    "DDNS_ZONES",
    "DDNS_TAG_TYPES",
    "DDNS_TAG_SUFFIXES",
    "DDNS_TAG_ALLOW_WILDCARDS",
    "DDNS_TAG_ADDRESS",
    "DDNS_TARGETS",
    "DDNS_ROUTE53_ROLE_ARN",
    "DDNS_WEBHOOK_URL",
    "WEBHOOK_URL",
    "DDNS_WEBHOOK_URL_PARAMETER",
    "DDNS_WEBHOOK_SECRET",
    "DDNS_WEBHOOK_SECRET_PARAMETER",
    "DDNS_WEBHOOK_FORMAT",
    "DDNS_ALERT_ON",
    "DDNS_ALERT_AFTER",
    "DDNS_ALERT_REPEAT",
    "DDNS_INCIDENTS_PARAMETER",
    "DDNS_FULL_READ",
    "DDNS_TIMEOUT",
];

/// What the environment holds that is likely a mistake: a `DDNS_*` variable no setting reads
/// (a misspelt one is otherwise ignored without a word), and a setting given an empty value,
/// which counts as unset. One line each, naming the variable.
pub fn environment_warnings(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut out: Vec<String> = env
        .into_iter()
        .filter_map(|(key, value)| {
            let known = VARIABLES.contains(&key.as_str());
            if key.starts_with("DDNS_") && !known {
                Some(format!(
                    "{key}: no setting of this name; it is ignored (is it misspelt? see the Configuration table)"
                ))
            } else if known && value.trim().is_empty() {
                Some(format!("{key}: set but empty, so it counts as unset"))
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds the config from any lookup, so tests never touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let mut errors = Vec::new();

        let default_ttl = match get("DDNS_TTL") {
            None => DEFAULT_TTL,
            Some(raw) => parse_ttl(&raw).unwrap_or_else(|e| {
                errors.push(format!("DDNS_TTL: {e}"));
                DEFAULT_TTL
            }),
        };

        let on_stop = match get("DDNS_ON_STOP").as_deref().map(str::trim) {
            None | Some("delete") => OnStop::Delete,
            Some("keep") => OnStop::Keep,
            Some(other) => {
                errors.push(format!("DDNS_ON_STOP: {other:?} is not allowed (delete or keep)"));
                OnStop::Delete
            }
        };

        let discovery = parse_discovery(&get, &mut errors);
        let targets = get("DDNS_TARGETS").map(|raw| parse_targets(&raw, &mut errors)).unwrap_or_default();
        let route53_role = get("DDNS_ROUTE53_ROLE_ARN").map(|raw| {
            let arn = raw.trim().to_string();
            if let Err(e) = check_role_arn(&arn) {
                errors.push(format!("DDNS_ROUTE53_ROLE_ARN: {e}"));
            }
            arn
        });
        let home_region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
        let reach = Reach { targets: &targets, home_region: home_region.as_deref().map(str::trim) };
        const SHORTHAND: [&str; 3] = ["INSTANCE_ID", "HOSTED_ZONE_ID", "RECORD_NAME"];
        let shorthand = SHORTHAND.iter().any(|k| get(k).is_some());
        let mappings = if let Some(raw) = get("DDNS_RECORDS") {
            if let Some(var) = SHORTHAND.into_iter().find(|k| get(k).is_some()) {
                errors.push(format!(
                    "{var}: set beside DDNS_RECORDS, which would win and leave the shorthand (INSTANCE_ID, HOSTED_ZONE_ID, RECORD_NAME) unused; move that record into DDNS_RECORDS and unset the shorthand"
                ));
            }
            parse_records(&raw, default_ttl, &reach, &mut errors)
        } else if discovery.is_some() && !shorthand {
            Vec::new()
        } else {
            parse_shorthand(&get, default_ttl, &mut errors)
        };
        check_duplicates(&mappings, &mut errors);

        let (owner_id, legacy_owner) = parse_owners(&get, &mut errors);
        let webhook = webhook::parse(&get, &mut errors);
        let timeout = parse_timeout(&get, &mut errors);
        let (alert_repeat, incidents_parameter) = parse_alerts(&get, &mut errors);
        let alert_after = duration_or(&get, "DDNS_ALERT_AFTER", DEFAULT_ALERT_AFTER, &mut errors);
        let full_read = duration_or(&get, "DDNS_FULL_READ", DEFAULT_FULL_READ, &mut errors);
        let group_max = get("DDNS_GROUP_MAX").map_or(DEFAULT_GROUP_MAX, |raw| {
            raw.trim().parse().ok().filter(|n| (1..=MAX_GROUP_MAX).contains(n)).unwrap_or_else(|| {
                errors
                    .push(format!("DDNS_GROUP_MAX: {:?} is not a whole number from 1 to {MAX_GROUP_MAX}", raw.trim()));
                DEFAULT_GROUP_MAX
            })
        });
        let alert_on = match get("DDNS_ALERT_ON").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("all") => AlertOn::All,
            Some("problems") => AlertOn::Problems,
            Some(other) => {
                errors.push(format!("DDNS_ALERT_ON: {other:?} is not allowed (all, or problems)"));
                AlertOn::All
            }
        };

        if errors.is_empty() {
            Ok(Config {
                mappings,
                discovery,
                owner_id,
                legacy_owner,
                default_ttl,
                on_stop,
                webhook,
                timeout,
                alert_repeat,
                alert_after,
                incidents_parameter,
                full_read,
                group_max,
                alert_on,
                targets,
                route53_role,
            })
        } else {
            Err(ConfigError(errors))
        }
    }
}

/// DDNS_OWNER_ID, and the owner id whose markers this copy takes over.
fn parse_owners(get: &impl Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> (Option<String>, Option<String>) {
    let owner_id = get("DDNS_OWNER_ID").map(|raw| parse_owner("DDNS_OWNER_ID", &raw, errors));
    let legacy_owner = match get("DDNS_LEGACY_OWNER_ID") {
        Some(raw) => Some(parse_owner("DDNS_LEGACY_OWNER_ID", &raw, errors)),
        // What earlier versions wrote when DDNS_OWNER_ID was unset.
        None if owner_id.is_none() => {
            Some(get("AWS_LAMBDA_FUNCTION_NAME").map_or_else(|| DEFAULT_NAME.to_string(), |f| f.trim().to_string()))
        }
        None => None,
    };
    (owner_id, legacy_owner)
}

fn parse_timeout(get: &impl Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Duration {
    let Some(raw) = get("DDNS_TIMEOUT") else { return DEFAULT_TIMEOUT };
    match parse_duration(&raw) {
        Ok(t) if !t.is_zero() && t <= MAX_TIMEOUT => t,
        Ok(_) => {
            errors.push(format!("DDNS_TIMEOUT: {:?} is out of range (1 s to 15 minutes)", raw.trim()));
            DEFAULT_TIMEOUT
        }
        Err(_) => {
            errors
                .push(format!("DDNS_TIMEOUT: {:?} is not a duration (like 30s or 2m; 1 s to 15 minutes)", raw.trim()));
            DEFAULT_TIMEOUT
        }
    }
}

/// DDNS_ALERT_REPEAT (`None`: no reminders), and the parameter that keeps open incidents.
fn parse_alerts(get: &impl Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> (Option<Duration>, Option<String>) {
    let repeat = match get("DDNS_ALERT_REPEAT") {
        None => Some(DEFAULT_ALERT_REPEAT),
        Some(raw) => parse_duration(&raw).map(|d| (!d.is_zero()).then_some(d)).unwrap_or_else(|e| {
            errors.push(format!("DDNS_ALERT_REPEAT: {e}"));
            None
        }),
    };
    let parameter = match get("DDNS_INCIDENTS_PARAMETER") {
        Some(raw) => Some(parse_parameter_name("DDNS_INCIDENTS_PARAMETER", &raw, errors)),
        None => get("AWS_LAMBDA_FUNCTION_NAME").map(|f| format!("/dynamic-dns-updater/{}/incidents", f.trim())),
    };
    (repeat, parameter)
}

/// A duration setting: `default` when unset; an error naming `var` when it is no duration.
fn duration_or(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: Duration,
    errors: &mut Vec<String>,
) -> Duration {
    get(var).map_or(default, |raw| {
        parse_duration(&raw).unwrap_or_else(|e| {
            errors.push(format!("{var}: {e}"));
            default
        })
    })
}

fn parse_ttl(raw: &str) -> Result<u32, String> {
    let n: i64 = raw.trim().parse().map_err(|_| format!("{raw:?} is not a whole number of seconds"))?;
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_TTL).contains(n))
        .ok_or_else(|| format!("{n} is out of range (1 to {MAX_TTL} seconds)"))
}

/// A duration as people write it: `0`, a number of seconds, or a number with `s`, `m`, `h` or
/// `d` (`90s`, `30m`, `6h`, `1d`).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let bad = || format!("{text:?} is not a duration (like 30m, 6h or 0)");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds).map(Duration::from_secs).ok_or_else(bad)
}

/// What a mapping's account and region are checked against.
struct Reach<'a> {
    targets: &'a [Target],
    /// The function's own region (AWS_REGION), the default of a mapping's.
    home_region: Option<&'a str>,
}

impl Reach<'_> {
    /// The place a mapping's `account_id` and `region` name: the function's own when neither is
    /// given; else a target's, or why not.
    fn place(&self, account: Option<&str>, region: Option<&str>) -> Result<Place, String> {
        let Some(account) = account else {
            return match (region, self.home_region) {
                (Some(r), None) => Err(format!(
                    "region {r:?}, but AWS_REGION is not set, so it cannot be told from the function's own; give account_id with it for a target's"
                )),
                (Some(r), Some(home)) if r.trim() != home => {
                    Err(format!("region {r:?} needs the account_id of its target (DDNS_TARGETS)"))
                }
                _ => Ok(Place::Home),
            };
        };
        let region = region.or(self.home_region).ok_or("no region, and AWS_REGION is not set")?;
        let place = Place::target(account, region)?;
        if self.targets.iter().any(|t| t.place == place) {
            Ok(place)
        } else {
            Err(format!(
                "{place} is not a target; list it in DDNS_TARGETS (for the function's own account and region, leave account_id and region out)"
            ))
        }
    }
}

/// DDNS_TARGETS: one target per account and region listed.
fn parse_targets(raw: &str, errors: &mut Vec<String>) -> Vec<Target> {
    const TARGET: &str = r#"{"account_id": "111122223333", "role_arn": "arn:aws:iam::111122223333:role/…", "regions": ["eu-west-1"], "external_id"?}"#;
    let items: Vec<serde_json::Value> = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("DDNS_TARGETS: not a JSON array of objects like {TARGET} ({e})"));
            return Vec::new();
        }
    };
    let mut out: Vec<Target> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = |field: &str, e: String| format!("DDNS_TARGETS[{i}].{field}: {e}");
        let t: RawTarget = match serde_json::from_value(item) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("DDNS_TARGETS[{i}]: {e}; a target is like {TARGET}"));
                continue;
            }
        };
        if let Err(e) = check_role_arn(&t.role_arn) {
            errors.push(at("role_arn", e));
        }
        if t.regions.is_empty() {
            errors.push(at("regions", "the list is empty; give the regions to follow there".into()));
        }
        let external_id = t.external_id.map(|x| x.trim().to_string());
        if external_id.as_ref().is_some_and(|x| x.len() < 2 || x.len() > 1224) {
            errors.push(at("external_id", "must be 2 to 1224 characters".into()));
        }
        if let Err(e) = check_account(t.account_id.trim()) {
            errors.push(at("account_id", e));
            continue;
        }
        // The role describes the instances of the account it lies in: one pasted from another
        // account would make every instance of this target look unknown.
        if let Some(role_account) = t.role_arn.trim().split(':').nth(4).filter(|a| *a != t.account_id.trim())
            && check_role_arn(&t.role_arn).is_ok()
        {
            errors.push(at(
                "role_arn",
                format!(
                    "the role lies in account {role_account}, not in the target's account_id {}; give the role of that account",
                    t.account_id.trim()
                ),
            ));
            continue;
        }
        for region in &t.regions {
            let place = match Place::target(&t.account_id, region) {
                Ok(place) => place,
                Err(e) => {
                    errors.push(at("regions", e));
                    continue;
                }
            };
            if out.iter().any(|o| o.place == place) {
                errors.push(format!("DDNS_TARGETS[{i}]: {place} is listed twice; list each account and region once"));
                continue;
            }
            out.push(Target { place, role_arn: t.role_arn.trim().to_string(), external_id: external_id.clone() });
        }
    }
    out
}

/// An IAM role's ARN: `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn check_role_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.trim().splitn(6, ':').collect();
    let ok = matches!(parts[..], ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(format!("{:?} is not an IAM role ARN (arn:aws:iam::111122223333:role/name)", arn.trim()))
    }
}

fn parse_records(raw: &str, default_ttl: u32, reach: &Reach, errors: &mut Vec<String>) -> Vec<Mapping> {
    const RECORD: &str = r#"{"instance_id": "i-…" (or "instance_ids": ["i-…", …]), "zone_id": "Z…", "name": "app.example.com", "ttl"?, "types"?, "address"?, "account_id"?, "region"?}"#;
    let items: Vec<serde_json::Value> = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            let quotes = if raw.contains('\'') && !raw.contains('"') {
                "; JSON takes double quotes, not single ones"
            } else {
                ""
            };
            errors.push(format!("DDNS_RECORDS: not a JSON array of objects like {RECORD} ({e}){quotes}"));
            return Vec::new();
        }
    };
    if items.is_empty() {
        errors.push("DDNS_RECORDS: the array is empty; list at least one record".into());
    }
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let r: RawMapping = match serde_json::from_value(item) {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("DDNS_RECORDS[{i}]: {e}; a record is like {RECORD}"));
                continue;
            }
        };
        let at = |field: &str, e: String| format!("DDNS_RECORDS[{i}].{field}: {e}");
        let ids = match (&r.instance_id, &r.instance_ids) {
            (Some(id), None) => {
                InstanceId::parse(id).map(|id| (id, Vec::new())).map_err(|e| errors.push(at("instance_id", e)))
            }
            (None, Some(ids)) if ids.is_empty() => {
                errors.push(at("instance_ids", "the list is empty; give the group's instance ids".into()));
                Err(())
            }
            (None, Some(ids)) => {
                let before = errors.len();
                let mut members: Vec<InstanceId> = ids
                    .iter()
                    .filter_map(|id| InstanceId::parse(id).map_err(|e| errors.push(at("instance_ids", e))).ok())
                    .collect();
                members.sort();
                members.dedup();
                if errors.len() == before { Ok((InstanceId::group(), members)) } else { Err(()) }
            }
            (Some(_), Some(_)) => {
                errors.push(format!(
                    "DDNS_RECORDS[{i}]: both instance_id and instance_ids; give instance_id for one instance, or instance_ids for a group"
                ));
                Err(())
            }
            (None, None) => {
                errors.push(format!(
                    "DDNS_RECORDS[{i}]: no instance_id (or instance_ids for a group); a record is like {RECORD}"
                ));
                Err(())
            }
        };
        let zone = ZoneId::parse(&r.zone_id).map_err(|e| errors.push(at("zone_id", e)));
        let name = RecordName::managed(&r.name).map_err(|e| errors.push(at("name", e)));
        let ttl = match r.ttl {
            None => Ok(default_ttl),
            Some(t) => parse_ttl(&t.to_string()).map_err(|e| errors.push(at("ttl", e))),
        };
        let types = match r.types {
            None => Ok(vec![RecordType::A]),
            Some(ts) if ts.is_empty() => {
                errors.push(at("types", "the list is empty; give A and/or AAAA".into()));
                Err(())
            }
            Some(ts) => {
                let before = errors.len();
                let parsed =
                    ts.iter().filter_map(|t| RecordType::parse(t).map_err(|e| errors.push(at("types", e))).ok());
                let parsed = distinct(parsed.collect());
                if errors.len() == before { Ok(parsed) } else { Err(()) }
            }
        };
        let address = r
            .address
            .as_deref()
            .map_or(Ok(AddressChoice::Auto), |a| AddressChoice::parse(a).map_err(|e| errors.push(at("address", e))));
        let place = reach
            .place(r.account_id.as_deref(), r.region.as_deref())
            .map_err(|e| errors.push(format!("DDNS_RECORDS[{i}]: {e}")));
        if let (Ok((instance, members)), Ok(zone), Ok(name), Ok(ttl), Ok(types), Ok(address), Ok(place)) =
            (ids, zone, name, ttl, types, address, place)
        {
            let (instance, members) = if instance.is_group() {
                (instance, members.iter().map(|m| m.at(&place)).collect())
            } else {
                (instance.at(&place), members)
            };
            out.push(Mapping { instance, members, zone, name, ttl, types, address });
        }
    }
    out
}

fn parse_shorthand(get: &impl Fn(&str) -> Option<String>, ttl: u32, errors: &mut Vec<String>) -> Vec<Mapping> {
    let (instance, zone, names) = (get("INSTANCE_ID"), get("HOSTED_ZONE_ID"), get("RECORD_NAME"));
    if instance.is_none() && zone.is_none() && names.is_none() {
        errors.push(
            "DDNS_RECORDS: not set, and neither is the shorthand INSTANCE_ID + HOSTED_ZONE_ID + RECORD_NAME, nor DDNS_TAG_KEY; configure at least one record".into(),
        );
        return Vec::new();
    }
    let mut need = |key: &str, v: Option<String>| {
        if v.is_none() {
            errors.push(format!(
                "{key}: missing (DDNS_RECORDS is unset, so INSTANCE_ID, HOSTED_ZONE_ID and RECORD_NAME are all needed)"
            ));
        }
        v
    };
    let (instance, zone, names) =
        (need("INSTANCE_ID", instance), need("HOSTED_ZONE_ID", zone), need("RECORD_NAME", names));
    let instance =
        instance.and_then(|v| InstanceId::parse(&v).map_err(|e| errors.push(format!("INSTANCE_ID: {e}"))).ok());
    let zone = zone.and_then(|v| ZoneId::parse(&v).map_err(|e| errors.push(format!("HOSTED_ZONE_ID: {e}"))).ok());
    let names = names.map(|v| parse_list("RECORD_NAME", &v, RecordName::managed, errors)).unwrap_or_default();
    match (instance, zone) {
        (Some(instance), Some(zone)) => names
            .into_iter()
            .map(|name| Mapping {
                instance: instance.clone(),
                members: Vec::new(),
                zone: zone.clone(),
                name,
                ttl,
                types: vec![RecordType::A],
                address: AddressChoice::Auto,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_discovery(get: &impl Fn(&str) -> Option<String>, errors: &mut Vec<String>) -> Option<Discovery> {
    let mut key = |var: &str| {
        let key = get(var).map(|k| k.trim().to_string())?;
        if key.len() > 128 || key.starts_with("aws:") {
            errors.push(format!("{var}: {key:?} is not a usable tag key (at most 128 characters, not aws:)"));
        }
        Some(key)
    };
    let (tag_key, group_key) = (key("DDNS_TAG_KEY"), key("DDNS_GROUP_TAG_KEY"));
    if tag_key.is_none() && group_key.is_none() {
        for var in ["DDNS_ZONES", "DDNS_TAG_TYPES", "DDNS_TAG_SUFFIXES", "DDNS_TAG_ALLOW_WILDCARDS", "DDNS_TAG_ADDRESS"]
        {
            if get(var).is_some() {
                errors.push(format!(
                    "{var}: set, but neither DDNS_TAG_KEY nor DDNS_GROUP_TAG_KEY is; set one to turn on tag discovery"
                ));
            }
        }
        return None;
    }
    if tag_key.is_some() && tag_key == group_key {
        errors.push(format!(
            "DDNS_GROUP_TAG_KEY: {:?} is DDNS_TAG_KEY too; a group tag needs a key of its own (like ddns:group)",
            group_key.as_deref().unwrap_or_default()
        ));
    }
    let types = match get("DDNS_TAG_TYPES") {
        None => vec![RecordType::A],
        Some(raw) => {
            let before = errors.len();
            let types = distinct(parse_list("DDNS_TAG_TYPES", &raw, RecordType::parse, errors));
            if types.is_empty() && errors.len() == before {
                errors.push("DDNS_TAG_TYPES: empty; give A, AAAA or A,AAAA".into());
            }
            types
        }
    };
    let zones = get("DDNS_ZONES").map(|raw| parse_list("DDNS_ZONES", &raw, ZoneId::parse, errors)).unwrap_or_default();
    if zones.is_empty() {
        errors.push("DDNS_ZONES: tag discovery needs the allow-list of hosted zone ids (comma-separated)".into());
    }
    let suffix = |raw: &str| match RecordName::parse(raw) {
        Ok(n) if n.as_str().starts_with("\\052.") => Err(format!("{:?} is a wildcard, not a domain", raw.trim())),
        other => other,
    };
    let suffixes =
        get("DDNS_TAG_SUFFIXES").map(|raw| parse_list("DDNS_TAG_SUFFIXES", &raw, suffix, errors)).unwrap_or_default();
    let allow_wildcards = match get("DDNS_TAG_ALLOW_WILDCARDS").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.push(format!("DDNS_TAG_ALLOW_WILDCARDS: {other:?} is not allowed (true or false)"));
            false
        }
    };
    let address = get("DDNS_TAG_ADDRESS").map_or(AddressChoice::Auto, |raw| {
        AddressChoice::parse(&raw).unwrap_or_else(|e| {
            errors.push(format!("DDNS_TAG_ADDRESS: {e}"));
            AddressChoice::Auto
        })
    });
    Some(Discovery { tag_key, group_key, types, zones, suffixes, allow_wildcards, address })
}

/// An owner id as markers carry it: 1 to 128 letters, digits, `_`, `.` or `-`.
fn parse_owner(var: &str, raw: &str, errors: &mut Vec<String>) -> String {
    let owner = raw.trim().to_string();
    let ok = owner.len() <= 128 && owner.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        errors.push(format!("{var}: {owner:?} must be 1 to 128 letters, digits, _ . or -"));
    }
    owner
}

/// Parses a comma-separated list item by item; each bad item is an error naming `var`.
/// An empty item between commas is an error too (`a,,b`): a trailing comma is not.
fn parse_list<T>(var: &str, raw: &str, parse: impl Fn(&str) -> Result<T, String>, errors: &mut Vec<String>) -> Vec<T> {
    let items: Vec<&str> = raw.trim().trim_end_matches(',').split(',').collect();
    if items.len() > 1 && items.iter().any(|item| item.trim().is_empty()) {
        errors.push(format!("{var}: {:?} has an empty item between commas", raw.trim()));
    }
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .filter_map(|item| parse(item).map_err(|e| errors.push(format!("{var}: {e}"))).ok())
        .collect()
}

/// Record types without repeats, in the order given.
fn distinct(types: Vec<RecordType>) -> Vec<RecordType> {
    let mut out = Vec::new();
    for t in types {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// One record (zone, name, type) can follow only one instance, or one static group.
fn check_duplicates(mappings: &[Mapping], errors: &mut Vec<String>) {
    let mut seen: HashMap<(&ZoneId, &RecordName, RecordType), &Mapping> = HashMap::new();
    let holder = |m: &Mapping| match &m.members[..] {
        [] => m.instance.to_string(),
        members => {
            format!("the static group ({})", members.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        }
    };
    for m in mappings {
        for t in &m.types {
            if let Some(first) = seen.insert((&m.zone, &m.name, *t), m) {
                let var = "DDNS_RECORDS";
                if first.ids() == m.ids() {
                    errors.push(format!(
                        "{var}: {} {t} in zone {} is listed twice; remove one of the entries",
                        m.name, m.zone
                    ));
                } else {
                    errors.push(format!(
                        "{var}: {} {t} in zone {} is claimed by both {} and {}; a record follows one instance or one group, so remove one of the entries (or give each a name of its own)",
                        m.name,
                        m.zone,
                        holder(first),
                        holder(m)
                    ));
                }
            }
        }
    }
}

fn parse_parameter_name(var: &str, raw: &str, errors: &mut Vec<String>) -> String {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.len() <= 2048
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        && (!name.contains('/') || name.starts_with('/'));
    if !ok {
        errors.push(format!("{var}: {name:?} is not an SSM parameter name (letters, digits, _ . - and /, starting with / when it has one)"));
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn errors(vars: &[(&str, &str)]) -> Vec<String> {
        config(vars).unwrap_err().0
    }

    const ONE: &str = r#"[{"instance_id":"i-1234567890abcdef0","zone_id":"Z1","name":"App.Example.com"}]"#;

    #[test]
    fn the_environment_warnings_name_unknown_and_empty_variables() {
        type Vars<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Vars, &[&str]); 4] = [
            (&[("DDNS_TTL", "60"), ("HOME", "/root"), ("DDNS_RECORDS", "[]")], &[]),
            (&[("DDNS_TLL", "60")], &["DDNS_TLL: no setting of this name"]),
            (
                &[("DDNS_ON_STOP", " "), ("INSTANCE_ID", "")],
                &["DDNS_ON_STOP: set but empty", "INSTANCE_ID: set but empty"],
            ),
            (&[("EMPTY_OTHER", "")], &[]),
        ];
        for (env, want) in cases {
            let got = environment_warnings(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            assert_eq!(got.len(), want.len(), "{env:?}: {got:?}");
            for (line, start) in got.iter().zip(want) {
                assert!(line.starts_with(start), "{env:?}: {line}");
            }
        }
    }

    #[test]
    fn every_variable_the_config_reads_is_known() {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let every: HashMap<&str, &str> = [
            ("DDNS_RECORDS", ONE),
            ("DDNS_TAG_KEY", "ddns"),
            ("DDNS_GROUP_TAG_KEY", "ddns:group"),
            ("DDNS_ZONES", "Z1"),
            ("DDNS_WEBHOOK_URL", "https://hooks.example.com/x"),
            ("DDNS_INCIDENTS_PARAMETER", "/ddns/incidents"),
        ]
        .into();
        let _ = Config::from_lookup(|key| {
            asked.borrow_mut().insert(key.to_string());
            every.get(key).map(|v| v.to_string())
        });
        let unknown: Vec<String> = asked
            .into_inner()
            .into_iter()
            .filter(|k| !VARIABLES.contains(&k.as_str()) && !k.starts_with("AWS_"))
            .collect();
        assert!(unknown.is_empty(), "read but not in VARIABLES, so warned about as unknown: {unknown:?}");
    }

    #[test]
    fn records_take_defaults() {
        let c = config(&[("DDNS_RECORDS", ONE)]).unwrap();
        assert_eq!(c.mappings.len(), 1);
        let m = &c.mappings[0];
        assert_eq!(m.name.as_str(), "app.example.com.");
        assert_eq!(m.ttl, 60);
        assert_eq!(m.types, vec![RecordType::A]);
        assert_eq!(c.on_stop, OnStop::Delete);
        assert_eq!(c.webhook, None);
    }

    #[test]
    fn ttl_default_comes_from_ddns_ttl_and_mapping_wins() {
        let recs = r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com","types":["a","AAAA"]},
                       {"instance_id":"i-12345678","zone_id":"Z1","name":"b.example.com","ttl":30}]"#;
        let c = config(&[("DDNS_RECORDS", recs), ("DDNS_TTL", "300"), ("DDNS_ON_STOP", "keep")]).unwrap();
        assert_eq!(c.mappings[0].ttl, 300);
        assert_eq!(c.mappings[0].types, vec![RecordType::A, RecordType::AAAA]);
        assert_eq!(c.mappings[1].ttl, 30);
        assert_eq!(c.on_stop, OnStop::Keep);
    }

    #[test]
    fn shorthand_splits_names() {
        let c = config(&[
            ("INSTANCE_ID", "i-1234567890abcdef0"),
            ("HOSTED_ZONE_ID", "/hostedzone/Z1"),
            ("RECORD_NAME", "a.example.com, b.example.com."),
        ])
        .unwrap();
        let names: Vec<_> = c.mappings.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a.example.com.", "b.example.com."]);
        assert_eq!(c.mappings[0].zone.as_str(), "Z1");
    }

    #[test]
    fn every_bad_variable_is_named_at_once() {
        let errs = errors(&[
            ("DDNS_RECORDS", r#"[{"instance_id":"i-1","zone_id":"z1","name":"bad name","ttl":-5,"types":["MX"]}]"#),
            ("DDNS_TTL", "soon"),
            ("DDNS_ON_STOP", "explode"),
            ("DDNS_WEBHOOK_FORMAT", "xml"),
        ]);
        for needle in [
            "DDNS_TTL:",
            "DDNS_ON_STOP:",
            "DDNS_RECORDS[0].instance_id",
            "DDNS_RECORDS[0].zone_id",
            "DDNS_RECORDS[0].name",
            "DDNS_RECORDS[0].ttl",
            "DDNS_RECORDS[0].types",
            "DDNS_WEBHOOK_FORMAT:",
        ] {
            assert!(errs.iter().any(|e| e.starts_with(needle)), "missing {needle} in {errs:#?}");
        }
    }

    #[test]
    fn malformed_and_missing_config_is_explained() {
        for (vars, needle) in [
            (vec![], "DDNS_RECORDS: not set"),
            (vec![("DDNS_RECORDS", "{")], "DDNS_RECORDS: not a JSON array"),
            (vec![("DDNS_RECORDS", "[]")], "DDNS_RECORDS: the array is empty"),
            (
                vec![("DDNS_RECORDS", r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.b.c","typo":1}]"#)],
                "unknown field",
            ),
            (vec![("INSTANCE_ID", "i-12345678")], "HOSTED_ZONE_ID: missing"),
            (vec![("DDNS_RECORDS", ONE), ("DDNS_TTL", "0")], "DDNS_TTL: 0 is out of range"),
        ] {
            let errs = errors(&vars);
            assert!(errs.iter().any(|e| e.contains(needle)), "{needle}: {errs:#?}");
        }
    }

    #[test]
    fn discovery_settings() {
        let c = config(&[
            ("DDNS_TAG_KEY", "ddns:name"),
            ("DDNS_ZONES", "Z1, /hostedzone/Z2"),
            ("DDNS_TAG_TYPES", "a,aaaa"),
        ])
        .unwrap();
        let d = c.discovery.unwrap();
        assert_eq!(d.tag_key.as_deref(), Some("ddns:name"));
        assert_eq!(d.types, vec![RecordType::A, RecordType::AAAA]);
        assert_eq!(d.zones, vec![ZoneId::parse("Z1").unwrap(), ZoneId::parse("Z2").unwrap()]);
        assert!(c.mappings.is_empty());
        assert_eq!((c.owner_id, c.legacy_owner.as_deref()), (None, Some(DEFAULT_NAME)));
        assert!(d.suffixes.is_empty() && !d.allow_wildcards);
        let c =
            config(&[("DDNS_TAG_KEY", "ddns:name"), ("DDNS_ZONES", "Z1"), ("AWS_LAMBDA_FUNCTION_NAME", "ddns-prod")])
                .unwrap();
        assert_eq!(c.legacy_owner.as_deref(), Some("ddns-prod"), "earlier versions' default was the function's name");
        let c = config(&[("DDNS_RECORDS", ONE), ("DDNS_OWNER_ID", "team-a")]).unwrap();
        assert_eq!((c.owner_id.as_deref(), c.legacy_owner), (Some("team-a"), None), "an explicit owner has no past");
        let c =
            config(&[("DDNS_RECORDS", ONE), ("DDNS_OWNER_ID", "team-a"), ("DDNS_LEGACY_OWNER_ID", "ddns")]).unwrap();
        assert_eq!(c.legacy_owner.as_deref(), Some("ddns"));
        let c = config(&[
            ("DDNS_TAG_KEY", "ddns:name"),
            ("DDNS_ZONES", "Z1"),
            ("DDNS_TAG_SUFFIXES", "dyn.Example.com, lab.example.com."),
            ("DDNS_TAG_ALLOW_WILDCARDS", "TRUE"),
        ])
        .unwrap();
        let d = c.discovery.unwrap();
        let suffixes: Vec<&str> = d.suffixes.iter().map(RecordName::as_str).collect();
        assert_eq!((suffixes, d.allow_wildcards), (vec!["dyn.example.com.", "lab.example.com."], true));
        for (vars, needle) in [
            (vec![("DDNS_TAG_KEY", "ddns:name")], "DDNS_ZONES: tag discovery needs"),
            (
                vec![("DDNS_RECORDS", ONE), ("DDNS_ZONES", "Z1")],
                "DDNS_ZONES: set, but neither DDNS_TAG_KEY nor DDNS_GROUP_TAG_KEY",
            ),
            (vec![("DDNS_TAG_KEY", "k"), ("DDNS_ZONES", "Z1"), ("DDNS_TAG_TYPES", "MX")], "DDNS_TAG_TYPES:"),
            (vec![("DDNS_TAG_KEY", "k"), ("DDNS_ZONES", "z-1")], "DDNS_ZONES: \"z-1\""),
            (vec![("DDNS_RECORDS", ONE), ("DDNS_OWNER_ID", "a b")], "DDNS_OWNER_ID:"),
            (
                vec![("DDNS_TAG_KEY", "k"), ("DDNS_ZONES", "Z1"), ("DDNS_TAG_SUFFIXES", "*.dyn.example.com")],
                "DDNS_TAG_SUFFIXES: \"*.dyn.example.com\" is a wildcard",
            ),
            (
                vec![("DDNS_TAG_KEY", "k"), ("DDNS_ZONES", "Z1"), ("DDNS_TAG_ALLOW_WILDCARDS", "yes")],
                "DDNS_TAG_ALLOW_WILDCARDS:",
            ),
            (
                vec![("DDNS_RECORDS", ONE), ("DDNS_TAG_SUFFIXES", "dyn.example.com")],
                "DDNS_TAG_SUFFIXES: set, but neither DDNS_TAG_KEY",
            ),
        ] {
            let errs = errors(&vars);
            assert!(errs.iter().any(|e| e.starts_with(needle)), "{needle}: {errs:#?}");
        }
    }

    #[test]
    fn group_settings() {
        let c = config(&[("DDNS_GROUP_TAG_KEY", "ddns:group"), ("DDNS_ZONES", "Z1")]).unwrap();
        let d = c.discovery.unwrap();
        assert_eq!((&d.tag_key, d.keys()), (&None, vec!["ddns:group"]), "groups without a name tag");
        assert_eq!((c.group_max, c.alert_on), (DEFAULT_GROUP_MAX, AlertOn::All));
        let c = config(&[
            ("DDNS_TAG_KEY", "ddns:name"),
            ("DDNS_GROUP_TAG_KEY", "ddns:group"),
            ("DDNS_ZONES", "Z1"),
            ("DDNS_GROUP_MAX", "400"),
            ("DDNS_ALERT_ON", "Problems"),
        ])
        .unwrap();
        assert_eq!(
            (c.discovery.unwrap().keys(), c.group_max, c.alert_on),
            (vec!["ddns:name", "ddns:group"], 400, AlertOn::Problems)
        );
        let both =
            r#"[{"instance_id":"i-12345678","instance_ids":["i-87654321"],"zone_id":"Z1","name":"a.example.com"}]"#;
        let empty = r#"[{"instance_ids":[],"zone_id":"Z1","name":"a.example.com"}]"#;
        let neither = r#"[{"zone_id":"Z1","name":"a.example.com"}]"#;
        let bad_member = r#"[{"instance_ids":["i-12345678","web-1"],"zone_id":"Z1","name":"a.example.com"}]"#;
        let groups = |extra: (&'static str, &'static str)| {
            vec![("DDNS_GROUP_TAG_KEY", "ddns:group"), ("DDNS_ZONES", "Z1"), extra]
        };
        for (vars, needle) in [
            (groups(("DDNS_TAG_KEY", "ddns:group")), "DDNS_GROUP_TAG_KEY: \"ddns:group\" is DDNS_TAG_KEY too"),
            (groups(("DDNS_GROUP_MAX", "0")), "DDNS_GROUP_MAX: \"0\" is not a whole number from 1 to 400"),
            (groups(("DDNS_GROUP_MAX", "401")), "DDNS_GROUP_MAX: \"401\""),
            (groups(("DDNS_GROUP_MAX", "2.5")), "DDNS_GROUP_MAX: \"2.5\""),
            (groups(("DDNS_ALERT_ON", "changes")), "DDNS_ALERT_ON: \"changes\" is not allowed"),
            (groups(("DDNS_GROUP_TAG_KEY", "aws:group")), "DDNS_GROUP_TAG_KEY: \"aws:group\" is not a usable tag key"),
            (vec![("DDNS_GROUP_TAG_KEY", "ddns:group")], "DDNS_ZONES: tag discovery needs"),
            (vec![("DDNS_RECORDS", both)], "DDNS_RECORDS[0]: both instance_id and instance_ids"),
            (vec![("DDNS_RECORDS", empty)], "DDNS_RECORDS[0].instance_ids: the list is empty"),
            (vec![("DDNS_RECORDS", neither)], "DDNS_RECORDS[0]: no instance_id"),
            (vec![("DDNS_RECORDS", bad_member)], "DDNS_RECORDS[0].instance_ids: \"web-1\" is not an instance id"),
        ] {
            let errs = errors(&vars);
            assert!(errs.iter().any(|e| e.starts_with(needle)), "{needle}: {errs:#?}");
        }
        let group =
            r#"[{"instance_ids":["i-87654321","i-12345678","i-87654321"],"zone_id":"Z1","name":"a.example.com"}]"#;
        let m = &config(&[("DDNS_RECORDS", group)]).unwrap().mappings[0];
        assert!(m.instance.is_group());
        assert_eq!(m.ids().iter().map(InstanceId::as_str).collect::<Vec<_>>(), ["i-12345678", "i-87654321"]);
        assert!(m.follows(&InstanceId::parse("i-87654321").unwrap()));
    }

    #[test]
    fn targets_and_where_mappings_run() {
        let targets = r#"[{"account_id":"111122223333","role_arn":"arn:aws:iam::111122223333:role/ddns-reader","regions":["eu-west-1","us-east-1"],"external_id":"x-1"}]"#;
        let mapped = r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com","account_id":"111122223333"},
                        {"instance_ids":["i-87654321"],"zone_id":"Z1","name":"g.example.com","account_id":"111122223333","region":"eu-west-1"},
                        {"instance_id":"i-12345679","zone_id":"Z1","name":"h.example.com"}]"#;
        let c = config(&[
            ("DDNS_TARGETS", targets),
            ("DDNS_RECORDS", mapped),
            ("AWS_REGION", "us-east-1"),
            ("DDNS_ROUTE53_ROLE_ARN", "arn:aws:iam::444455556666:role/dns"),
        ])
        .unwrap();
        let places: Vec<String> = c.targets.iter().map(|t| t.place.key()).collect();
        assert_eq!(places, ["111122223333/eu-west-1", "111122223333/us-east-1"], "one target per region");
        assert_eq!(c.targets[0].external_id.as_deref(), Some("x-1"));
        let ids: Vec<&str> = c.mappings.iter().flat_map(|m| m.ids()).map(InstanceId::as_str).collect();
        assert_eq!(ids, ["111122223333/us-east-1/i-12345678", "111122223333/eu-west-1/i-87654321", "i-12345679"]);
        assert!(c.follows(&Place::Home) && c.follows(&c.targets[1].place));
        assert_eq!(c.route53_role.as_deref(), Some("arn:aws:iam::444455556666:role/dns"));
        let target = |account: &str, role: &str, regions: &str| {
            format!(r#"[{{"account_id":"{account}","role_arn":"{role}","regions":{regions}}}]"#)
        };
        let role = "arn:aws:iam::111122223333:role/r";
        let twice = r#"[{"account_id":"111122223333","role_arn":"arn:aws:iam::111122223333:role/r","regions":["eu-west-1"]},
                        {"account_id":"111122223333","role_arn":"arn:aws:iam::111122223333:role/s","regions":["eu-west-1"]}]"#;
        let elsewhere =
            r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com","account_id":"999988887777"}]"#;
        let region_only =
            r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com","region":"eu-west-1"}]"#;
        let records = |r: &'static str| ("DDNS_RECORDS", r);
        for (vars, needle) in [
            (vec![("DDNS_TARGETS", "{".to_string())], "DDNS_TARGETS: not a JSON array"),
            (
                vec![("DDNS_TARGETS", target("1111", role, r#"["eu-west-1"]"#))],
                "DDNS_TARGETS[0].account_id: \"1111\" is not an AWS account id",
            ),
            (
                vec![("DDNS_TARGETS", target("111122223333", "arn:aws:iam::111122223333:user/u", r#"["eu-west-1"]"#))],
                "DDNS_TARGETS[0].role_arn: \"arn:aws:iam::111122223333:user/u\" is not an IAM role ARN",
            ),
            (
                vec![("DDNS_TARGETS", target("111122223333", role, r#"["eu-middle-9"]"#))],
                "DDNS_TARGETS[0].regions: \"eu-middle-9\" is not an AWS region name",
            ),
            (vec![("DDNS_TARGETS", target("111122223333", role, "[]"))], "DDNS_TARGETS[0].regions: the list is empty"),
            (
                vec![("DDNS_TARGETS", target("111122223333", "arn:aws:iam::444455556666:role/r", r#"["eu-west-1"]"#))],
                "DDNS_TARGETS[0].role_arn: the role lies in account 444455556666, not in the target's account_id 111122223333",
            ),
            (
                vec![("DDNS_TARGETS", twice.to_string())],
                "DDNS_TARGETS[1]: account 111122223333 in eu-west-1 is listed twice",
            ),
            (
                vec![("DDNS_ROUTE53_ROLE_ARN", "role/dns".to_string())],
                "DDNS_ROUTE53_ROLE_ARN: \"role/dns\" is not an IAM role ARN",
            ),
        ] {
            let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            vars.push(("DDNS_RECORDS", ONE));
            let errs = errors(&vars);
            assert!(errs.iter().any(|e| e.starts_with(needle)), "{needle}: {errs:#?}");
        }
        for (mapping, needle) in [
            (elsewhere, "DDNS_RECORDS[0]: account 999988887777 in us-east-1 is not a target; list it in DDNS_TARGETS"),
            (region_only, "DDNS_RECORDS[0]: region \"eu-west-1\" needs the account_id of its target"),
        ] {
            let errs = errors(&[records(mapping), ("DDNS_TARGETS", targets), ("AWS_REGION", "us-east-1")]);
            assert!(errs.iter().any(|e| e.starts_with(needle)), "{needle}: {errs:#?}");
        }
    }

    #[test]
    fn one_record_cannot_follow_two_instances() {
        let recs = r#"[{"instance_id":"i-12345678","zone_id":"Z1","name":"a.example.com"},
                       {"instance_id":"i-87654321","zone_id":"Z1","name":"A.EXAMPLE.COM."}]"#;
        let errs = errors(&[("DDNS_RECORDS", recs)]);
        assert!(errs[0].contains("claimed by both i-12345678 and i-87654321"), "{errs:?}");
    }

    #[test]
    fn webhook_url_rules() {
        let ok = config(&[("DDNS_RECORDS", ONE), ("WEBHOOK_URL", "https://hooks.example.com/T/secret-token")]).unwrap();
        assert!(matches!(ok.webhook.unwrap().url, Source::Inline(_)));
        let loopback = config(&[("DDNS_RECORDS", ONE), ("DDNS_WEBHOOK_URL", "http://127.0.0.1:9/hook")]);
        assert!(loopback.is_ok());
        let errs = errors(&[("DDNS_RECORDS", ONE), ("DDNS_WEBHOOK_URL", "http://hooks.example.com/secret-token")]);
        assert!(errs[0].starts_with("DDNS_WEBHOOK_URL: plain http"), "{errs:?}");
        assert!(!errs[0].contains("secret-token"), "the URL must not be echoed: {errs:?}");
        let errs = errors(&[("DDNS_RECORDS", ONE), ("DDNS_WEBHOOK_SECRET", "s3cret-s3cret-s3cret")]);
        assert!(errs[0].contains("no webhook URL"), "{errs:?}");
        assert!(!format!("{errs:?}").contains("s3cret-s3cret-s3cret"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = config(&[
            ("DDNS_RECORDS", ONE),
            ("DDNS_WEBHOOK_URL", "https://hooks.example.com/T/secret-token"),
            ("DDNS_WEBHOOK_SECRET", "s3cret-s3cret-s3cret"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-token") && !shown.contains("s3cret-s3cret-s3cret"), "{shown}");
    }

    #[test]
    fn durations_and_alert_settings() {
        for (raw, secs) in [("0", 0), ("45", 45), ("90s", 90), ("30m", 1800), ("6h", 21_600), ("1d", 86_400)] {
            assert_eq!(parse_duration(raw), Ok(Duration::from_secs(secs)), "{raw}");
        }
        for raw in ["soon", "6 h", "h", "-5m", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(raw).is_err(), "{raw}");
        }
        let c = config(&[("DDNS_RECORDS", ONE), ("AWS_LAMBDA_FUNCTION_NAME", "ddns-prod")]).unwrap();
        assert_eq!((c.timeout, c.alert_repeat), (DEFAULT_TIMEOUT, Some(DEFAULT_ALERT_REPEAT)));
        assert_eq!(c.incidents_parameter.as_deref(), Some("/dynamic-dns-updater/ddns-prod/incidents"));
        assert_eq!(c.alert_after, Duration::from_secs(300));
        let c = config(&[("DDNS_RECORDS", ONE), ("DDNS_ALERT_AFTER", "0")]).unwrap();
        assert_eq!(c.alert_after, Duration::ZERO, "0 alerts at once");
        let c = config(&[("DDNS_RECORDS", ONE), ("DDNS_ALERT_AFTER", "90s")]).unwrap();
        assert_eq!(c.alert_after, Duration::from_secs(90));
        let c = config(&[("DDNS_RECORDS", ONE), ("DDNS_ALERT_REPEAT", "0"), ("DDNS_TIMEOUT", "60")]).unwrap();
        assert_eq!((c.timeout, c.alert_repeat, c.incidents_parameter), (Duration::from_secs(60), None, None));
        let c = config(&[("DDNS_RECORDS", ONE), ("DDNS_INCIDENTS_PARAMETER", "/team/ddns/incidents")]).unwrap();
        assert_eq!(c.incidents_parameter.as_deref(), Some("/team/ddns/incidents"));
        let errs = errors(&[
            ("DDNS_RECORDS", ONE),
            ("DDNS_ALERT_REPEAT", "soon"),
            ("DDNS_ALERT_AFTER", "later"),
            ("DDNS_TIMEOUT", "20m"),
            ("DDNS_INCIDENTS_PARAMETER", "no/leading/slash"),
        ]);
        assert_eq!(
            errs,
            [
                "DDNS_TIMEOUT: \"20m\" is out of range (1 s to 15 minutes)",
                "DDNS_ALERT_REPEAT: \"soon\" is not a duration (like 30m, 6h or 0)",
                "DDNS_INCIDENTS_PARAMETER: \"no/leading/slash\" is not an SSM parameter name (letters, digits, _ . - and /, starting with / when it has one)",
                "DDNS_ALERT_AFTER: \"later\" is not a duration (like 30m, 6h or 0)",
            ]
        );
    }
}
