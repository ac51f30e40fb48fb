//! What Route53's refusal of a change batch (`InvalidChangeBatch`) names: the records it refused
//! and, where one of its change guardrails refused them, which guardrail and the way out. Pure:
//! reads the message text, never a client.
//!
//! Route53 puts one message per refused change in brackets, comma-separated. A guardrail's
//! message reads (its developer guide, "Change Guardrails for hosted zones"):
//! `[RRSet with DNS name app.example.com., type A cannot be deleted because of guardrail
//! ACTIVE_RECORD_CHECK: the record received queries in the last 24 hours]`, and an older kind
//! `[Tried to create resource record set [name='app.example.com.', type='A'] but it already
//! exists]`. The reading is tolerant: a record is found after `DNS name ` or `name=` (quoted or
//! not), its type after `type `, and a guardrail by its token, any upper-case word ending in
//! `_CHECK`, or by "protect" for record set protections.

use std::fmt;

use crate::names::{RecordName, ZoneId};
use crate::records::{RecordData, SetType};

/// A change guardrail of a hosted zone.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Guardrail {
    /// ALIAS_TARGET_CHECK: an alias in the zone points to the record.
    AliasTarget,
    /// ACTIVE_RECORD_CHECK: the record still receives queries and nothing else would answer them.
    ActiveRecord,
    /// NS_OCCLUSION_CHECK: a delegation in the zone would hide the record.
    NsOcclusion,
    /// A record set protection: the record may not be changed at all.
    Protection,
    /// A guardrail this version does not know, by its token.
    Other(String),
}

impl fmt::Display for Guardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AliasTarget => "ALIAS_TARGET_CHECK",
            Self::ActiveRecord => "ACTIVE_RECORD_CHECK",
            Self::NsOcclusion => "NS_OCCLUSION_CHECK",
            Self::Protection => "record set protection",
            Self::Other(token) => token,
        })
    }
}

/// One record a refusal names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub name: RecordName,
    /// Its type as Route53 wrote it; `None` when the message gave none.
    pub rtype: Option<SetType>,
    pub guardrail: Option<Guardrail>,
    /// What Route53 said of it after the guardrail's token (or the whole message about it),
    /// trimmed: for an alias or a delegation, that is where their names are.
    pub said: String,
}

/// The records a refusal names, each once, in the order it names them.
pub fn named(message: &str) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    let starts = anchors(message);
    for (i, &(at, name_at)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map_or(message.len(), |next| next.0);
        let name = word(&message[name_at..next]);
        let Ok(record) = RecordName::parse(name) else { continue };
        let rest = &message[name_at + name.len()..next];
        let typed = rest.find("type").map(|t| {
            let after = &rest[t + 4..];
            let skip = after.len() - after.trim_start_matches([' ', '=', '\'', '"']).len();
            let value = word(&after[skip..]);
            (SetType::parse(value), t + 4 + skip + value.len())
        });
        // Messages are comma-separated: this one ends at the last comma before the next record.
        let head = name_at + name.len() + typed.as_ref().map_or(0, |(_, end)| *end);
        let end = if next < message.len() { message[head..next].rfind(',').map_or(next, |c| head + c) } else { next };
        let part = &message[at..end];
        let guardrail = guardrail_in(part);
        let said = match guardrail.as_ref().and_then(|g| token_end(part, g)) {
            Some(after) => tidy(part[after..].split(']').next().unwrap_or_default()),
            None => tidy(part),
        };
        let found = Named { name: record, rtype: typed.map(|(t, _)| t), guardrail, said };
        if !out.iter().any(|n| n.name == found.name && n.rtype == found.rtype) {
            out.push(found);
        }
    }
    out
}

/// The guardrail a message names, if any: a refusal that names no record may still say which.
pub fn guardrail_in(message: &str) -> Option<Guardrail> {
    let token = message
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .find(|w| w.len() > "_CHECK".len() && w.ends_with("_CHECK"));
    match token {
        Some("ALIAS_TARGET_CHECK") => Some(Guardrail::AliasTarget),
        Some("ACTIVE_RECORD_CHECK") => Some(Guardrail::ActiveRecord),
        Some("NS_OCCLUSION_CHECK") => Some(Guardrail::NsOcclusion),
        Some(other) => Some(Guardrail::Other(other.to_string())),
        None if message.to_ascii_lowercase().contains("protect") => Some(Guardrail::Protection),
        None => None,
    }
}

/// What a person can do about a record a guardrail kept from changing: the sentence a problem
/// carries. `old` is what the record holds (what keeps being answered), `said` what Route53 said.
pub fn way_out(guardrail: &Guardrail, zone: &ZoneId, old: Option<&RecordData>, said: &str) -> String {
    let route53 = if said.is_empty() { String::new() } else { format!(" (Route53: {said})") };
    match guardrail {
        Guardrail::ActiveRecord => {
            let held = old.map_or_else(|| "its old address".to_string(), |d| d.values.join(", "));
            format!(
                "the record still receives queries{route53}, so it keeps pointing at {held}, an address the instance gave back and anyone may get next, until ACTIVE_RECORD_CHECK is turned off for zone {zone} or the queries stop; it is tried again each sweep"
            )
        }
        Guardrail::AliasTarget => format!(
            "an alias record in zone {zone} points to it{route53}; change that alias to point elsewhere, or delete it, and the next sweep goes on"
        ),
        Guardrail::NsOcclusion => format!(
            "a delegation (NS record) in zone {zone} hides this name{route53}; write the name in the delegated zone instead, remove the delegation, or turn NS_OCCLUSION_CHECK off for the zone"
        ),
        Guardrail::Protection => format!(
            "the record is protected in zone {zone}{route53}; lift its protection for this function to change it, or stop managing the name"
        ),
        Guardrail::Other(token) => format!(
            "Route53's guardrail {token} of zone {zone} refused it{route53}; see \"Change Guardrails for hosted zones\" in Route53's developer guide; it is tried again each sweep"
        ),
    }
}

/// Where each record begins, and where its name begins, in the message's order; at one place
/// the longest marker wins (`name='` over `name=`).
fn anchors(message: &str) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for marker in ["DNS name ", "name='", "name=\"", "name="] {
        for (at, _) in message.match_indices(marker) {
            if !out.iter().any(|&(other, _)| other == at) {
                out.push((at, at + marker.len()));
            }
        }
    }
    out.sort();
    out
}

/// The word at the start of `text`: up to a space, a quote, a comma, a bracket or a colon.
fn word(text: &str) -> &str {
    let end = text.find([' ', '\'', '"', ',', ']', '[', ':', ';']).unwrap_or(text.len());
    &text[..end]
}

/// Where the text after a guardrail's token begins.
fn token_end(part: &str, guardrail: &Guardrail) -> Option<usize> {
    let token = guardrail.to_string();
    part.find(&token).map(|at| at + token.len())
}

/// A piece of the message without its separators, at most 200 characters.
fn tidy(text: &str) -> String {
    let text = text.trim_matches(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '[' | ']' | '.' | ';'));
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::RecordType;

    fn n(name: &str, rtype: Option<SetType>, guardrail: Option<Guardrail>, said: &str) -> Named {
        Named { name: RecordName::parse(name).unwrap(), rtype, guardrail, said: said.into() }
    }

    #[test]
    fn refusals_name_their_records_and_guardrails() {
        use Guardrail::*;
        let a = Some(SetType::Ours(RecordType::A));
        for (label, message, want) in [
            (
                "active record",
                "service error: InvalidChangeBatch: [RRSet with DNS name app.example.com., type A cannot be deleted because of guardrail ACTIVE_RECORD_CHECK: the record received queries in the last 24 hours]",
                vec![n("app.example.com", a, Some(ActiveRecord), "the record received queries in the last 24 hours")],
            ),
            (
                "two in one message, an alias and a protected marker",
                "[RRSet with DNS name a.example.com., type A cannot be deleted because of guardrail ALIAS_TARGET_CHECK: alias www.example.com. points to it, RRSet with DNS name _ddns-owner.b.example.com., type TXT cannot be changed because it is protected]",
                vec![
                    n("a.example.com", a, Some(AliasTarget), "alias www.example.com. points to it"),
                    n(
                        "_ddns-owner.b.example.com",
                        Some(SetType::Ours(RecordType::TXT)),
                        Some(Protection),
                        "DNS name _ddns-owner.b.example.com., type TXT cannot be changed because it is protected",
                    ),
                ],
            ),
            (
                "occlusion, no type",
                "[RRSet with DNS name x.sub.example.com. is occluded: NS_OCCLUSION_CHECK: delegation at sub.example.com.]",
                vec![n("x.sub.example.com", None, Some(NsOcclusion), "delegation at sub.example.com")],
            ),
            (
                "the older shape, no guardrail",
                "[Tried to create resource record set [name='app.example.com.', type='A'] but it already exists]",
                vec![n("app.example.com", a, None, "name='app.example.com.', type='A'] but it already exists")],
            ),
            ("a guardrail that names no record", "[Change refused because of guardrail ACTIVE_RECORD_CHECK]", vec![]),
            ("nothing named", "injected InvalidChangeBatch", vec![]),
            (
                "said twice (the SDK's context repeats it)",
                "InvalidChangeBatch: [RRSet with DNS name app.example.com., type A cannot be deleted because of guardrail FUTURE_CHECK]: InvalidChangeBatch: [RRSet with DNS name app.example.com., type A cannot be deleted because of guardrail FUTURE_CHECK]",
                vec![n("app.example.com", a, Some(Other("FUTURE_CHECK".into())), "")],
            ),
        ] {
            assert_eq!(named(message), want, "{label}");
        }
        assert_eq!(guardrail_in("[Change refused because of guardrail ACTIVE_RECORD_CHECK]"), Some(ActiveRecord));
        assert_eq!(guardrail_in("injected InvalidChangeBatch"), None);
    }

    #[test]
    fn each_guardrail_says_its_way_out() {
        let zone = ZoneId::parse("Z1").unwrap();
        let old = RecordData { ttl: 60, values: vec!["3.1.2.4".into()] };
        let active = way_out(&Guardrail::ActiveRecord, &zone, Some(&old), "");
        assert!(active.contains("3.1.2.4") && active.contains("turned off for zone Z1"), "{active}");
        let alias = way_out(&Guardrail::AliasTarget, &zone, None, "alias www.example.com. points to it");
        assert!(alias.contains("www.example.com") && alias.contains("change that alias"), "{alias}");
        assert!(way_out(&Guardrail::NsOcclusion, &zone, None, "").contains("delegation"));
        assert!(way_out(&Guardrail::Protection, &zone, None, "").contains("protected"));
    }
}
