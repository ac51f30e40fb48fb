//! The simulated Route53: hosted zones holding record sets in Route53's listing order, and the
//! REST-XML calls the function makes, with Route53's rules for a change batch (atomic; CREATE
//! refused when the name and type exist; DELETE refused unless values and TTL match exactly).

use std::cmp::Ordering;

use super::{Reply, error_xml, param};

const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

/// One record set: a name (lower case, trailing dot), a type, a TTL and its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    pub values: Vec<String>,
}

impl Set {
    pub fn new(name: &str, rtype: &str, ttl: u32, values: &[&str]) -> Self {
        Self { name: normal(name), rtype: rtype.into(), ttl, values: values.iter().map(|v| v.to_string()).collect() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub private: bool,
    /// In Route53's listing order (see [`listing_cmp`]).
    pub sets: Vec<Set>,
}

impl Zone {
    pub fn new(id: &str, name: &str, private: bool) -> Self {
        Self { id: id.into(), name: normal(name), private, sets: Vec::new() }
    }

    pub fn get(&self, name: &str, rtype: &str) -> Option<&Set> {
        let name = normal(name);
        self.sets.iter().find(|s| s.name == name && s.rtype == rtype)
    }

    pub fn put(&mut self, set: Set) {
        self.sets.retain(|s| !(s.name == set.name && s.rtype == set.rtype));
        self.sets.push(set);
        self.sets.sort_by(|a, b| listing_cmp(&a.name, &a.rtype, &b.name, &b.rtype));
    }
}

/// A name as Route53 keeps it: lower case, with the trailing dot.
pub fn normal(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.ends_with('.') { name } else { format!("{name}.") }
}

/// Route53 lists by name with its labels reversed (com, example, www), then by type.
fn listing_cmp(a: &str, at: &str, b: &str, bt: &str) -> Ordering {
    let labels = |n: &str| n.trim_end_matches('.').rsplit('.').map(str::to_string).collect::<Vec<_>>();
    labels(a).cmp(&labels(b)).then_with(|| at.cmp(bt))
}

/// The route of a Route53 request: `Some` when the path is Route53's.
pub fn handle(zones: &mut [Zone], method: &str, path: &str, query: &str, body: &str) -> Option<Reply> {
    let rest = path.strip_prefix("/2013-04-01/")?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let reply = match (method, parts.as_slice()) {
        ("GET", ["hostedzone", id]) => match zones.iter().find(|z| z.id == *id) {
            Some(z) => Reply::ok(get_hosted_zone(z)),
            None => no_such_zone(id),
        },
        ("GET", ["hostedzone", id, "rrset"]) => match zones.iter().find(|z| z.id == *id) {
            Some(z) => Reply::ok(list(z, query)),
            None => no_such_zone(id),
        },
        ("POST", ["hostedzone", id, "rrset"]) => match zones.iter_mut().find(|z| z.id == *id) {
            Some(z) => change(z, body),
            None => no_such_zone(id),
        },
        ("GET", ["change", id]) => Reply::ok(format!(
            r#"<GetChangeResponse xmlns="{NS}"><ChangeInfo><Id>/change/{id}</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></GetChangeResponse>"#
        )),
        _ => {
            Reply::new(400, error_xml("InvalidInput", &format!("the simulated Route53 does not serve {method} {path}")))
        }
    };
    Some(reply)
}

fn no_such_zone(id: &str) -> Reply {
    Reply::new(404, error_xml("NoSuchHostedZone", &format!("No hosted zone found with ID: {id}")))
}

fn get_hosted_zone(z: &Zone) -> String {
    let place = if z.private {
        "<VPCs><VPC><VPCRegion>us-east-1</VPCRegion><VPCId>vpc-1</VPCId></VPC></VPCs>".to_string()
    } else {
        "<DelegationSet><NameServers><NameServer>ns-1.example.net</NameServer></NameServers></DelegationSet>".into()
    };
    format!(
        r#"<GetHostedZoneResponse xmlns="{NS}"><HostedZone><Id>/hostedzone/{}</Id><Name>{}</Name><CallerReference>sim</CallerReference><Config><PrivateZone>{}</PrivateZone></Config><ResourceRecordSetCount>{}</ResourceRecordSetCount></HostedZone>{place}</GetHostedZoneResponse>"#,
        z.id,
        z.name,
        z.private,
        z.sets.len()
    )
}

/// Pages of at most three record sets (Route53 may always return fewer than asked), so that every
/// read of the function crosses pages.
const PAGE: usize = 3;

fn list(z: &Zone, query: &str) -> String {
    let start_name = param(query, "name").map(|n| normal(&n));
    let start_type = param(query, "type").unwrap_or_default();
    let max = param(query, "maxitems").and_then(|m| m.parse().ok()).unwrap_or(300usize).clamp(1, PAGE);
    let from = match &start_name {
        Some(n) => z.sets.iter().position(|s| listing_cmp(&s.name, &s.rtype, n, &start_type).is_ge()),
        None => Some(0),
    }
    .unwrap_or(z.sets.len());
    let page = &z.sets[from..(from + max).min(z.sets.len())];
    let sets: String = page.iter().map(set_xml).collect();
    let next = match z.sets.get(from + max) {
        Some(n) => format!(
            "<IsTruncated>true</IsTruncated><NextRecordName>{}</NextRecordName><NextRecordType>{}</NextRecordType>",
            n.name, n.rtype
        ),
        None => "<IsTruncated>false</IsTruncated>".into(),
    };
    format!(
        r#"<ListResourceRecordSetsResponse xmlns="{NS}"><ResourceRecordSets>{sets}</ResourceRecordSets>{next}<MaxItems>{max}</MaxItems></ListResourceRecordSetsResponse>"#
    )
}

fn set_xml(s: &Set) -> String {
    let values: String =
        s.values.iter().map(|v| format!("<ResourceRecord><Value>{}</Value></ResourceRecord>", escape(v))).collect();
    format!(
        "<ResourceRecordSet><Name>{}</Name><Type>{}</Type><TTL>{}</TTL><ResourceRecords>{values}</ResourceRecords></ResourceRecordSet>",
        s.name, s.rtype, s.ttl
    )
}

fn escape(v: &str) -> String {
    v.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// ChangeResourceRecordSets: every change is checked against the zone as the earlier changes of
/// the batch leave it, and the batch is applied only when all pass.
fn change(z: &mut Zone, body: &str) -> Reply {
    let doc = match roxmltree::Document::parse(body) {
        Ok(doc) => doc,
        Err(e) => return Reply::new(400, error_xml("InvalidInput", &format!("malformed XML: {e}"))),
    };
    let text = |n: roxmltree::Node, tag: &str| {
        n.descendants().find(|d| d.has_tag_name(tag)).and_then(|d| d.text()).unwrap_or_default().to_string()
    };
    let mut after = z.clone();
    let mut refused = Vec::new();
    for c in doc.descendants().filter(|n| n.has_tag_name("Change")) {
        let action = text(c, "Action");
        let set = Set {
            name: normal(&text(c, "Name")),
            rtype: text(c, "Type"),
            ttl: text(c, "TTL").parse().unwrap_or(0),
            values: c
                .descendants()
                .filter(|d| d.has_tag_name("Value"))
                .filter_map(|d| d.text())
                .map(str::to_string)
                .collect(),
        };
        let what = format!("[name='{}', type='{}']", set.name, set.rtype);
        let existing = after.get(&set.name, &set.rtype).cloned();
        match (action.as_str(), existing) {
            ("CREATE", Some(_)) => {
                refused.push(format!("Tried to create resource record set {what} but it already exists"))
            }
            ("CREATE" | "UPSERT", _) => after.put(set),
            ("DELETE", None) => {
                refused.push(format!("Tried to delete resource record set {what} but it was not found"))
            }
            ("DELETE", Some(old)) if !same(&old, &set) => refused.push(format!(
                "Tried to delete resource record set {what} but the values provided do not match the current values"
            )),
            ("DELETE", Some(_)) => after.sets.retain(|s| !(s.name == set.name && s.rtype == set.rtype)),
            (other, _) => refused.push(format!("unknown action {other}")),
        }
    }
    if !refused.is_empty() {
        return Reply::new(400, error_xml("InvalidChangeBatch", &refused.join("; ")));
    }
    *z = after;
    Reply::ok(format!(
        r#"<ChangeResourceRecordSetsResponse xmlns="{NS}"><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>"#
    ))
}

/// A DELETE must name the TTL and the values exactly (in any order).
fn same(a: &Set, b: &Set) -> bool {
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    a.ttl == b.ttl && sorted(&a.values) == sorted(&b.values)
}
