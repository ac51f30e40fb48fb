//! Config + described instances -> the records that should exist. Pure: the caller does the
//! DescribeInstances and passes what it found.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::config::{Mapping, OnStop};
use crate::names::{InstanceId, RecordName, RecordType, ZoneId};

/// What EC2 says about one instance, reduced to what DNS needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    /// EC2's state name: pending, running, stopping, stopped, shutting-down, terminated.
    pub state: String,
    pub ipv4: Option<Ipv4Addr>,
    /// The first IPv6 address of the primary network interface.
    pub ipv6: Option<Ipv6Addr>,
}

impl Instance {
    pub fn address(&self, rtype: RecordType) -> Option<String> {
        match rtype {
            RecordType::A => self.ipv4.map(|ip| ip.to_string()),
            RecordType::AAAA => self.ipv6.map(|ip| ip.to_string()),
        }
    }
}

/// The wanted state of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// The record should hold exactly this address.
    Address { value: String, ttl: u32 },
    /// The record should not exist; the reason is for people.
    Absent { reason: String },
    /// Whatever exists stays as it is.
    Leave { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub zone: ZoneId,
    pub name: RecordName,
    pub rtype: RecordType,
    pub instance: InstanceId,
    pub want: Want,
}

/// Computes the wanted records for `mappings`, given the instances EC2 returned.
/// An instance EC2 no longer knows is treated as terminated.
pub fn desired(mappings: &[&Mapping], instances: &HashMap<InstanceId, Instance>, on_stop: OnStop) -> Vec<Desired> {
    let mut out = Vec::new();
    for m in mappings {
        let instance = instances.get(&m.instance);
        for &rtype in &m.types {
            let want = want_for(instance, rtype, m.ttl, on_stop);
            out.push(Desired { zone: m.zone.clone(), name: m.name.clone(), rtype, instance: m.instance.clone(), want });
        }
    }
    out
}

fn want_for(instance: Option<&Instance>, rtype: RecordType, ttl: u32, on_stop: OnStop) -> Want {
    let gone = |reason: String| match on_stop {
        OnStop::Delete => Want::Absent { reason },
        OnStop::Keep => Want::Leave { reason },
    };
    let Some(instance) = instance else {
        return gone("instance not found".into());
    };
    match (instance.state.as_str(), instance.address(rtype)) {
        ("running" | "pending", Some(value)) => Want::Address { value, ttl },
        ("running", None) => gone(format!("instance has no public {} address", family(rtype))),
        ("pending", None) => Want::Leave { reason: "instance is starting".into() },
        (state, _) => gone(format!("instance is {state}")),
    }
}

fn family(rtype: RecordType) -> &'static str {
    match rtype {
        RecordType::A => "IPv4",
        RecordType::AAAA => "IPv6",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(types: Vec<RecordType>) -> Mapping {
        Mapping {
            instance: InstanceId::parse("i-12345678").unwrap(),
            zone: ZoneId::parse("Z1").unwrap(),
            name: RecordName::parse("app.example.com").unwrap(),
            ttl: 60,
            types,
        }
    }

    fn instance(state: &str, v4: Option<&str>, v6: Option<&str>) -> HashMap<InstanceId, Instance> {
        let id = InstanceId::parse("i-12345678").unwrap();
        let i = Instance {
            id: id.clone(),
            state: state.into(),
            ipv4: v4.map(|s| s.parse().unwrap()),
            ipv6: v6.map(|s| s.parse().unwrap()),
        };
        HashMap::from([(id, i)])
    }

    fn wants(m: &Mapping, instances: &HashMap<InstanceId, Instance>, on_stop: OnStop) -> Vec<Want> {
        desired(&[m], instances, on_stop).into_iter().map(|d| d.want).collect()
    }

    type Case = (&'static str, Vec<RecordType>, HashMap<InstanceId, Instance>, OnStop, Vec<Want>);

    #[test]
    fn table() {
        use RecordType::*;
        let addr = |v: &str| Want::Address { value: v.into(), ttl: 60 };
        let absent = |r: &str| Want::Absent { reason: r.into() };
        let leave = |r: &str| Want::Leave { reason: r.into() };
        let cases: Vec<Case> = vec![
            ("running v4", vec![A], instance("running", Some("3.1.2.4"), None), OnStop::Delete, vec![addr("3.1.2.4")]),
            (
                "running both",
                vec![A, AAAA],
                instance("running", Some("3.1.2.4"), Some("2600:1f18::1")),
                OnStop::Delete,
                vec![addr("3.1.2.4"), addr("2600:1f18::1")],
            ),
            (
                "running no v6",
                vec![A, AAAA],
                instance("running", Some("3.1.2.4"), None),
                OnStop::Delete,
                vec![addr("3.1.2.4"), absent("instance has no public IPv6 address")],
            ),
            (
                "running no v6, keep",
                vec![AAAA],
                instance("running", Some("3.1.2.4"), None),
                OnStop::Keep,
                vec![leave("instance has no public IPv6 address")],
            ),
            ("stopped", vec![A], instance("stopped", None, None), OnStop::Delete, vec![absent("instance is stopped")]),
            (
                "stopped, keep",
                vec![A],
                instance("stopped", None, None),
                OnStop::Keep,
                vec![leave("instance is stopped")],
            ),
            (
                "stopping still holds ip",
                vec![A],
                instance("stopping", Some("3.1.2.4"), None),
                OnStop::Delete,
                vec![absent("instance is stopping")],
            ),
            (
                "terminated",
                vec![A],
                instance("terminated", None, None),
                OnStop::Delete,
                vec![absent("instance is terminated")],
            ),
            ("gone", vec![A], HashMap::new(), OnStop::Delete, vec![absent("instance not found")]),
            (
                "pending without ip",
                vec![A],
                instance("pending", None, None),
                OnStop::Delete,
                vec![leave("instance is starting")],
            ),
            (
                "pending with ip",
                vec![A],
                instance("pending", Some("3.1.2.4"), None),
                OnStop::Delete,
                vec![addr("3.1.2.4")],
            ),
        ];
        for (label, types, instances, on_stop, want) in cases {
            assert_eq!(wants(&mapping(types), &instances, on_stop), want, "{label}");
        }
    }
}
