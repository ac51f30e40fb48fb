//! The simulated EC2: instances with their state, addresses and tags, and DescribeInstances over
//! the query protocol with the filters the function sends, in small pages.

use std::collections::BTreeMap;

use super::{Reply, ec2_error};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
            State::ShuttingDown => "shutting-down",
            State::Terminated => "terminated",
        }
    }

    fn code(self) -> u8 {
        match self {
            State::Pending => 0,
            State::Running => 16,
            State::ShuttingDown => 32,
            State::Terminated => 48,
            State::Stopping => 64,
            State::Stopped => 80,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    pub state: State,
    pub public: Option<String>,
    /// Every public address it was given, the current one last.
    pub had_public: Vec<String>,
    pub private: Option<String>,
    pub ipv6: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// DescribeInstances: the instances every filter matches (values of one filter are alternatives),
/// in id order, at most two a page.
pub fn describe(instances: &[Instance], params: &[(String, String)]) -> Reply {
    let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let mut filters: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (k, v) in params {
        let Some(rest) = k.strip_prefix("Filter.") else { continue };
        let (n, field) = rest.split_once('.').unwrap_or((rest, ""));
        let entry = filters.entry(n.to_string()).or_default();
        if field == "Name" {
            entry.0 = v.clone();
        } else if field.starts_with("Value.") {
            entry.1.push(v.clone());
        }
    }
    let mut matched = Vec::new();
    for i in instances {
        let mut all = true;
        for (name, values) in filters.values() {
            let ok = match name.as_str() {
                "instance-id" => values.contains(&i.id),
                "tag-key" => values.iter().any(|k| i.tags.contains_key(k)),
                "network-interface.network-interface-id" => false,
                other => match other.strip_prefix("tag:") {
                    Some(key) => i.tags.get(key).is_some_and(|v| values.contains(v)),
                    None => {
                        return ec2_error(400, "InvalidParameterValue", &format!("the sim knows no filter {other}"));
                    }
                },
            };
            all &= ok;
        }
        if all {
            matched.push(i);
        }
    }
    let from: usize = get("NextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
    const PAGE: usize = 2;
    let page = &matched[from.min(matched.len())..(from + PAGE).min(matched.len())];
    let items: String = page.iter().map(|i| instance_xml(i)).collect();
    let next =
        if from + PAGE < matched.len() { format!("<nextToken>{}</nextToken>", from + PAGE) } else { String::new() };
    Reply::ok(format!(
        r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>sim</requestId><reservationSet>{items}</reservationSet>{next}</DescribeInstancesResponse>"#
    ))
}

fn instance_xml(i: &Instance) -> String {
    let opt = |tag: &str, v: &Option<String>| v.as_ref().map(|v| format!("<{tag}>{v}</{tag}>")).unwrap_or_default();
    let tags: String = i.tags.iter().map(|(k, v)| format!("<item><key>{k}</key><value>{v}</value></item>")).collect();
    format!(
        "<item><reservationId>r-{id}</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>{id}</instanceId><instanceState><code>{code}</code><name>{state}</name></instanceState>{private}{public}{ipv6}<placement><availabilityZone>us-east-1a</availabilityZone></placement><launchTime>2026-01-01T00:00:00.000Z</launchTime><tagSet>{tags}</tagSet></item></instancesSet></item>",
        id = i.id,
        code = i.state.code(),
        state = i.state.name(),
        private = opt("privateIpAddress", &i.private),
        public = opt("ipAddress", &i.public),
        ipv6 = opt("ipv6Address", &i.ipv6),
    )
}
