//! Typed identifiers: record names in Route53's stored form, instance ids, zone ids, record types.
//! Parsing lives here so every other module can trust the values it holds.

use std::cmp::Ordering;
use std::fmt;

/// The leftmost label of every ownership marker's name.
pub const MARKER_LABEL: &str = "_ddns-owner";

/// A DNS name as Route53 stores it: lower case, with a trailing dot, and `\052` for `*`.
/// Two spellings of one name always parse to equal values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordName(String);

impl RecordName {
    /// Parses a name as a user writes it (any case, trailing dot optional, `*` or `\052`).
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("the record name is empty".into());
        }
        let lower = trimmed.to_ascii_lowercase().replace("\\052", "*");
        let bare = lower.strip_suffix('.').unwrap_or(&lower);
        if bare.is_empty() {
            return Err(format!("{input:?} is not a record name"));
        }
        if bare.len() > 253 {
            return Err(format!("{input:?} is longer than 253 characters"));
        }
        for (i, label) in bare.split('.').enumerate() {
            if label.is_empty() {
                return Err(format!("{input:?} has an empty label"));
            }
            if label.len() > 63 {
                return Err(format!("{input:?} has a label longer than 63 characters"));
            }
            if label.contains('*') && (label != "*" || i != 0) {
                return Err(format!("{input:?}: a wildcard must be the whole leftmost label, as in *.example.com"));
            }
            if let Some(bad) =
                label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '*'))
            {
                return Err(format!("{input:?} contains {bad:?}, which a host name cannot hold"));
            }
        }
        if !bare.contains('.') {
            return Err(format!("{input:?} is not a fully qualified name (no domain)"));
        }
        Ok(Self(format!("{}.", bare.replace('*', "\\052"))))
    }

    /// Parses a name this tool is to manage: beside the rules of [`RecordName::parse`], its
    /// ownership marker's name must stay within DNS's 253 characters, or every write would fail.
    pub fn managed(input: &str) -> Result<Self, String> {
        let name = Self::parse(input)?;
        let longest = 253 - MARKER_LABEL.len() - 1;
        let len = name.display().len();
        if len > longest {
            return Err(format!(
                "{:?} is {len} characters; a managed name may have at most {longest}, so that its ownership marker ({MARKER_LABEL}.<name>) stays within DNS's 253",
                name.display()
            ));
        }
        Ok(name)
    }

    /// Reads a name as Route53 returns it; never fails, so foreign records can still be compared.
    pub fn from_route53(stored: &str) -> Self {
        let lower = stored.to_ascii_lowercase().replace('*', "\\052");
        if lower.ends_with('.') { Self(lower) } else { Self(format!("{lower}.")) }
    }

    /// The stored form, as sent to Route53 (`app.example.com.`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the ownership marker that guards this name: a child label, so that Route53's
    /// listing order puts it right after the name's own records and one read finds both, and so
    /// that it never meets a user's TXT record at the name itself (SPF at a zone apex, say).
    pub fn marker(&self) -> RecordName {
        RecordName(format!("{MARKER_LABEL}.{}", self.0))
    }

    /// The name a marker guards, when this is a marker's name.
    pub fn guarded(&self) -> Option<RecordName> {
        self.0
            .strip_prefix(MARKER_LABEL)
            .and_then(|rest| rest.strip_prefix('.'))
            .map(|rest| RecordName(rest.to_string()))
    }

    /// The form people read: no trailing dot, `*` for the wildcard.
    pub fn display(&self) -> String {
        self.0.trim_end_matches('.').replace("\\052", "*")
    }

    /// True when this name is `zone` or lies below it.
    pub fn is_within(&self, zone: &RecordName) -> bool {
        self.0 == zone.0 || self.0.ends_with(&format!(".{}", zone.0))
    }

    /// Route53's listing order: labels reversed, compared byte by byte, trailing dot included.
    /// moto omits the trailing dot; callers that must be safe under both use [`listing_cmp_all`].
    pub fn listing_key(&self, trailing_dot: bool) -> String {
        let bare = self.0.trim_end_matches('.');
        let mut key = bare.rsplit('.').collect::<Vec<_>>().join(".");
        if trailing_dot {
            key.push('.');
        }
        key
    }
}

/// A hosted zone as learned once at start-up: its id, its domain, and whether it is private
/// (answers only inside its VPCs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Zone {
    pub id: ZoneId,
    pub name: RecordName,
    pub private: bool,
}

impl Zone {
    /// A public zone, as tests and tools that know no better take a zone to be.
    pub fn public(id: ZoneId, name: RecordName) -> Self {
        Self { id, name, private: false }
    }

    pub fn kind(&self) -> &'static str {
        if self.private { "private" } else { "public" }
    }
}

/// Which of an instance's addresses a record holds, as `"address"` in a mapping or
/// `DDNS_TAG_ADDRESS` chooses: `auto` follows the zone's type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AddressChoice {
    #[default]
    Auto,
    Public,
    Private,
}

impl AddressChoice {
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            other => Err(format!("{other:?} is not an address choice (auto, public or private)")),
        }
    }

    /// Whether a record in a zone of this kind holds the private address.
    pub fn private_in(self, private_zone: bool) -> bool {
        match self {
            Self::Auto => private_zone,
            Self::Public => false,
            Self::Private => true,
        }
    }

    /// The choice goes against the zone's type: allowed, but worth a warning.
    pub fn crosses(self, private_zone: bool) -> bool {
        matches!((self, private_zone), (Self::Public, true) | (Self::Private, false))
    }
}

/// Compares two names under both listing orders; `Some` only when they agree.
pub fn listing_cmp_all(a: &RecordName, b: &RecordName) -> Option<Ordering> {
    let with = a.listing_key(true).cmp(&b.listing_key(true));
    let without = a.listing_key(false).cmp(&b.listing_key(false));
    (with == without).then_some(with)
}

impl fmt::Display for RecordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// An EC2 instance id, `i-` followed by 8 or 17 hex digits; for an instance of another account
/// or region than the function's own (a target, DDNS_TARGETS), qualified by them as
/// `111122223333/eu-west-1/i-…`, so that two instances with one id in two places are never
/// taken for one another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let ok = s
            .strip_prefix("i-")
            .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_hexdigit()));
        if ok {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(format!("{input:?} is not an instance id (expected i- and 8 or 17 hex digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same instance id in `place`.
    pub fn at(&self, place: &Place) -> Self {
        match place {
            Place::Home => Self(self.bare().to_string()),
            Place::Target { account, region } => Self(format!("{account}/{region}/{}", self.bare())),
        }
    }

    /// Where it runs.
    pub fn place(&self) -> Place {
        match self.0.rsplitn(3, '/').collect::<Vec<_>>()[..] {
            [_, region, account] => Place::Target { account: account.to_string(), region: region.to_string() },
            _ => Place::Home,
        }
    }

    /// The id EC2 knows it by.
    pub fn bare(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// What stands for a group's members where one instance would: a group name's records and
    /// marker belong to the group, not to any one of them.
    pub fn group() -> Self {
        Self(GROUP.to_string())
    }

    pub fn is_group(&self) -> bool {
        self.0 == GROUP
    }

    /// The holder a marker names: an instance (in a place, when the marker says one), or the
    /// group.
    pub fn holder(input: &str) -> Option<Self> {
        if input == GROUP {
            return Some(Self::group());
        }
        match input.rsplitn(3, '/').collect::<Vec<_>>()[..] {
            [id, region, account] => {
                let place = Place::target(account, region).ok()?;
                Some(Self::parse(id).ok()?.at(&place))
            }
            _ => Self::parse(input).ok(),
        }
    }
}

/// How a group's holder reads; no instance id looks like it.
const GROUP: &str = "group";

/// Where instances run: the function's own account and region, or a target's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    Home,
    Target { account: String, region: String },
}

impl Place {
    /// A target's place: a 12-digit account id and a region name.
    pub fn target(account: &str, region: &str) -> Result<Self, String> {
        let (account, region) = (account.trim(), region.trim());
        check_account(account)?;
        if !is_region(region) {
            return Err(format!("{region:?} is not an AWS region name (like eu-west-1)"));
        }
        Ok(Self::Target { account: account.to_string(), region: region.to_string() })
    }
}

impl Place {
    /// Its short form, `111122223333/eu-west-1`, or `home`.
    pub fn key(&self) -> String {
        match self {
            Place::Home => "home".into(),
            Place::Target { account, region } => format!("{account}/{region}"),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Home => f.write_str("the function's own account and region"),
            Place::Target { account, region } => write!(f, "account {account} in {region}"),
        }
    }
}

/// An AWS account id: 12 digits.
pub fn check_account(account: &str) -> Result<(), String> {
    if account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("{account:?} is not an AWS account id (12 digits)"))
    }
}

/// Whether `name` is an AWS region's name: a partition's prefix, a direction, a number
/// (`eu-west-1`, `us-gov-west-1`, `ap-southeast-7`, `cn-north-1`).
pub fn is_region(name: &str) -> bool {
    const PREFIXES: [&str; 15] =
        ["af", "ap", "ca", "cn", "eu", "il", "me", "mx", "sa", "us", "us-gov", "us-iso", "us-isob", "eusc", "us-isof"];
    const DIRECTIONS: [&str; 9] =
        ["north", "south", "east", "west", "central", "northeast", "northwest", "southeast", "southwest"];
    let Some((rest, number)) = name.rsplit_once('-') else { return false };
    let Some((prefix, direction)) = rest.rsplit_once('-') else { return false };
    PREFIXES.contains(&prefix)
        && DIRECTIONS.contains(&direction)
        && !number.is_empty()
        && number.len() <= 2
        && number.chars().all(|c| c.is_ascii_digit())
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Route53 hosted zone id, without any `/hostedzone/` prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneId(String);

impl ZoneId {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let s = s.strip_prefix("/hostedzone/").unwrap_or(s);
        // Real ids start with Z; emulators use other upper-case alphanumerics, so accept those.
        if !s.is_empty() && s.len() <= 32 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "{input:?} is not a hosted zone id (expected upper-case letters and digits, like Z0123456789ABC)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The record types this project writes: addresses, and TXT for ownership markers only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum RecordType {
    A,
    #[allow(clippy::upper_case_acronyms)]
    AAAA,
    #[allow(clippy::upper_case_acronyms)]
    TXT,
}

impl RecordType {
    /// Parses an address type as users configure it; TXT is not one.
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(Self::A),
            "AAAA" => Ok(Self::AAAA),
            _ => Err(format!("{input:?} is not a supported record type (A or AAAA)")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::AAAA => "AAAA",
            Self::TXT => "TXT",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_are_equal() {
        let want = RecordName::parse("app.example.com.").unwrap();
        for spelling in ["app.example.com", "APP.Example.COM", "app.example.com.", " app.example.com "] {
            assert_eq!(RecordName::parse(spelling).unwrap(), want, "{spelling}");
        }
        assert_eq!(want.as_str(), "app.example.com.");
        assert_eq!(RecordName::from_route53("app.example.com."), want);
    }

    #[test]
    fn wildcard_is_stored_escaped() {
        let n = RecordName::parse("*.Example.com").unwrap();
        assert_eq!(n.as_str(), "\\052.example.com.");
        assert_eq!(RecordName::parse("\\052.example.com").unwrap(), n);
        assert_eq!(RecordName::from_route53("\\052.example.com."), n);
        assert_eq!(n.display(), "*.example.com");
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        for (input, needle) in [
            ("", "empty"),
            (".", "not a record name"),
            ("a..example.com", "empty label"),
            ("localhost", "fully qualified"),
            ("a b.example.com", "' '"),
            ("www.*.example.com", "wildcard"),
            (&format!("{}.example.com", "a".repeat(64)), "63"),
        ] {
            let err = RecordName::parse(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
    }

    #[test]
    fn listing_order_follows_route53() {
        let a = RecordName::parse("a.example.com").unwrap();
        let dash = RecordName::parse("a-b.example.com").unwrap();
        let b = RecordName::parse("b.example.com").unwrap();
        let deep = RecordName::parse("x.a.example.com").unwrap();
        // Route53 compares with the trailing dot, so '-' sorts before '.'.
        assert!(dash.listing_key(true) < a.listing_key(true));
        assert!(dash.listing_key(false) > a.listing_key(false));
        assert_eq!(listing_cmp_all(&a, &dash), None);
        assert_eq!(listing_cmp_all(&a, &b), Some(Ordering::Less));
        assert_eq!(listing_cmp_all(&a, &deep), Some(Ordering::Less));
        assert_eq!(listing_cmp_all(&deep, &b), Some(Ordering::Less));
    }

    #[test]
    fn ids_parse() {
        assert!(InstanceId::parse("i-1234567890abcdef0").is_ok());
        assert!(InstanceId::parse("i-12345678").is_ok());
        assert!(InstanceId::parse("i-123").is_err());
        assert!(InstanceId::parse("x-1234567890abcdef0").is_err());
        assert_eq!(ZoneId::parse("/hostedzone/Z123ABC").unwrap().as_str(), "Z123ABC");
        assert!(ZoneId::parse("z123").is_err());
        assert!(ZoneId::parse("").is_err());
        assert_eq!(RecordType::parse("aaaa").unwrap(), RecordType::AAAA);
        assert!(RecordType::parse("MX").is_err());
    }

    #[test]
    fn markers_sit_beside_the_name_they_guard() {
        let name = RecordName::parse("app.example.com").unwrap();
        let marker = name.marker();
        assert_eq!(marker.as_str(), "_ddns-owner.app.example.com.");
        assert_eq!(marker.guarded(), Some(name.clone()));
        assert_eq!(name.guarded(), None);
        // Next in Route53's order: after the name, before its siblings.
        let sibling = RecordName::parse("app0.example.com").unwrap();
        let dash = RecordName::parse("app-2.example.com").unwrap();
        assert_eq!(listing_cmp_all(&name, &marker), Some(Ordering::Less));
        assert_eq!(listing_cmp_all(&marker, &sibling), Some(Ordering::Less));
        assert!(dash.listing_key(true) < name.listing_key(true));
        let apex = RecordName::parse("example.com").unwrap();
        assert_ne!(apex.marker(), apex, "never the apex, where SPF lives");
        let wildcard = RecordName::parse("*.example.com").unwrap();
        assert_eq!(wildcard.marker().as_str(), "_ddns-owner.\\052.example.com.");
    }

    #[test]
    fn a_managed_name_leaves_room_for_its_marker() {
        let label = "a".repeat(60);
        let at = |n: usize| format!("{}.example.com", [label.as_str()].repeat(n).join("."));
        let longest = format!("{}.{}", "b".repeat(241 - at(3).len() - 1), at(3));
        assert_eq!(longest.len(), 241);
        assert!(RecordName::managed(&longest).is_ok(), "241 characters and `_ddns-owner.` make 253");
        let over = format!("bb{}", &longest[1..]);
        assert_eq!(
            RecordName::managed(&over).unwrap_err(),
            format!(
                "{over:?} is 242 characters; a managed name may have at most 241, so that its ownership marker (_ddns-owner.<name>) stays within DNS's 253"
            )
        );
        assert!(RecordName::parse(&over).is_ok(), "as a plain name it is fine");
    }

    #[test]
    fn within_zone() {
        let zone = RecordName::parse("example.com").unwrap();
        assert!(RecordName::parse("a.example.com").unwrap().is_within(&zone));
        assert!(zone.is_within(&zone));
        assert!(!RecordName::parse("a.badexample.com").unwrap().is_within(&zone));
    }

    #[test]
    fn an_instance_in_a_target_is_qualified_by_its_account_and_region() {
        let id = InstanceId::parse("i-0123456789abcdef0").unwrap();
        let there = Place::target("111122223333", "eu-west-1").unwrap();
        let q = id.at(&there);
        assert_eq!(q.as_str(), "111122223333/eu-west-1/i-0123456789abcdef0");
        assert_eq!((q.place(), q.bare()), (there.clone(), "i-0123456789abcdef0"));
        assert_ne!(q, id, "one id in two places is two instances");
        assert_eq!(q.at(&Place::Home), id);
        assert_eq!(InstanceId::holder(q.as_str()), Some(q.clone()));
        assert_eq!(InstanceId::holder("group"), Some(InstanceId::group()));
        assert_eq!(InstanceId::holder("1/eu-west-1/i-0123456789abcdef0"), None);
        for (region, ok) in [
            ("eu-west-1", true),
            ("us-gov-west-1", true),
            ("ap-southeast-7", true),
            ("eu-middle-1", false),
            ("moon-1", false),
            ("us-east-", false),
        ] {
            assert_eq!(is_region(region), ok, "{region}");
        }
    }
}
