//! Environment -> typed [`Config`], read once at start-up. Every bad variable is reported at
//! once, each error naming the variable. Secrets are redacted from `Debug`.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

pub use crate::names::AddressChoice;
use crate::names::{InstanceId, RecordName, RecordType, ZoneId};

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

/// One record name kept pointed at one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub instance: InstanceId,
    pub zone: ZoneId,
    pub name: RecordName,
    pub ttl: u32,
    pub types: Vec<RecordType>,
    /// Which of the instance's addresses its A record holds.
    pub address: AddressChoice,
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

/// Fleet mode: instances name themselves with a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The tag whose value lists an instance's names, comma-separated.
    pub tag_key: String,
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
}

impl Config {
    /// The parameter that keeps open incidents, when there is one to keep: only alerts need to
    /// survive a cold start, so only with a webhook.
    pub fn incident_store(&self) -> Option<&str> {
        self.incidents_parameter.as_deref().filter(|_| self.webhook.is_some())
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
    instance_id: String,
    zone_id: String,
    name: String,
    ttl: Option<i64>,
    types: Option<Vec<String>>,
    address: Option<String>,
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
        const SHORTHAND: [&str; 3] = ["INSTANCE_ID", "HOSTED_ZONE_ID", "RECORD_NAME"];
        let shorthand = SHORTHAND.iter().any(|k| get(k).is_some());
        let mappings = if let Some(raw) = get("DDNS_RECORDS") {
            if let Some(var) = SHORTHAND.into_iter().find(|k| get(k).is_some()) {
                errors.push(format!(
                    "{var}: set beside DDNS_RECORDS, which would win and leave the shorthand (INSTANCE_ID, HOSTED_ZONE_ID, RECORD_NAME) unused; move that record into DDNS_RECORDS and unset the shorthand"
                ));
            }
            parse_records(&raw, default_ttl, &mut errors)
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

fn parse_records(raw: &str, default_ttl: u32, errors: &mut Vec<String>) -> Vec<Mapping> {
    const RECORD: &str =
        r#"{"instance_id": "i-…", "zone_id": "Z…", "name": "app.example.com", "ttl"?, "types"?, "address"?}"#;
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
        let instance = InstanceId::parse(&r.instance_id).map_err(|e| errors.push(at("instance_id", e)));
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
        if let (Ok(instance), Ok(zone), Ok(name), Ok(ttl), Ok(types), Ok(address)) =
            (instance, zone, name, ttl, types, address)
        {
            out.push(Mapping { instance, zone, name, ttl, types, address });
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
    let Some(tag_key) = get("DDNS_TAG_KEY").map(|k| k.trim().to_string()) else {
        for var in ["DDNS_ZONES", "DDNS_TAG_TYPES", "DDNS_TAG_SUFFIXES", "DDNS_TAG_ALLOW_WILDCARDS", "DDNS_TAG_ADDRESS"]
        {
            if get(var).is_some() {
                errors.push(format!("{var}: set, but DDNS_TAG_KEY is not; set DDNS_TAG_KEY to turn on tag discovery"));
            }
        }
        return None;
    };
    if tag_key.len() > 128 || tag_key.starts_with("aws:") {
        errors.push(format!("DDNS_TAG_KEY: {tag_key:?} is not a usable tag key (at most 128 characters, not aws:)"));
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
    Some(Discovery { tag_key, types, zones, suffixes, allow_wildcards, address })
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

/// One record (zone, name, type) can follow only one instance.
fn check_duplicates(mappings: &[Mapping], errors: &mut Vec<String>) {
    let mut seen: HashMap<(&ZoneId, &RecordName, RecordType), &InstanceId> = HashMap::new();
    for m in mappings {
        for t in &m.types {
            if let Some(first) = seen.insert((&m.zone, &m.name, *t), &m.instance) {
                let var = "DDNS_RECORDS";
                if first == &m.instance {
                    errors.push(format!(
                        "{var}: {} {t} in zone {} is listed twice; remove one of the entries",
                        m.name, m.zone
                    ));
                } else {
                    errors.push(format!(
                        "{var}: {} {t} in zone {} is claimed by both {first} and {}; a record follows one instance, so remove one of the entries (or give each instance a name of its own)",
                        m.name, m.zone, m.instance
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
        assert_eq!(d.tag_key, "ddns:name");
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
            (vec![("DDNS_RECORDS", ONE), ("DDNS_ZONES", "Z1")], "DDNS_ZONES: set, but DDNS_TAG_KEY is not"),
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
                "DDNS_TAG_SUFFIXES: set, but DDNS_TAG_KEY",
            ),
        ] {
            let errs = errors(&vars);
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
