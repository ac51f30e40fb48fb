//! Record sets and changes to them: the values that pass from the Route53 read, through the
//! registry and the plan, to the Route53 write and the report. Plain data, no I/O.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use serde::Serialize;

use crate::failure::Failure;
use crate::names::{InstanceId, RecordName, RecordType, ZoneId};

/// The type of a record set as Route53 holds it, as far as this tool cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetType {
    /// A, AAAA or TXT: the types this tool writes.
    Ours(RecordType),
    /// A CNAME, which no other record may sit beside.
    Cname,
    /// Any other type (MX, NS, SOA, …): never touched.
    Other,
}

impl SetType {
    pub fn parse(rtype: &str) -> Self {
        match rtype {
            "A" => Self::Ours(RecordType::A),
            "AAAA" => Self::Ours(RecordType::AAAA),
            "TXT" => Self::Ours(RecordType::TXT),
            "CNAME" => Self::Cname,
            _ => Self::Other,
        }
    }
}

/// A record's contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordData {
    pub ttl: u32,
    pub values: Vec<String>,
}

/// A record set as Route53 holds it, reduced to what the registry and the plan compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub name: RecordName,
    pub rtype: SetType,
    pub ttl: Option<u32>,
    pub values: Vec<String>,
    /// An alias record, or one with a routing policy (set identifier): never ours to rewrite.
    pub special: Option<String>,
}

impl Existing {
    /// Its contents, as a change to it must repeat them (Route53 deletes only on an exact match).
    pub fn data(&self) -> RecordData {
        RecordData { ttl: self.ttl.unwrap_or(0), values: self.values.clone() }
    }

    pub fn is(&self, rtype: RecordType) -> bool {
        self.rtype == SetType::Ours(rtype)
    }
}

/// What Route53 holds, by zone and name, every type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Current(BTreeMap<ZoneId, HashMap<RecordName, Vec<Existing>>>);

impl Current {
    pub fn add(&mut self, zone: &ZoneId, set: Existing) {
        self.0.entry(zone.clone()).or_default().entry(set.name.clone()).or_default().push(set);
    }

    /// The record sets at one name.
    pub fn at(&self, zone: &ZoneId, name: &RecordName) -> &[Existing] {
        self.0.get(zone).and_then(|names| names.get(name)).map_or(&[], Vec::as_slice)
    }

    /// Every (zone, name) that holds something, in a stable order.
    pub fn names(&self) -> Vec<(&ZoneId, &RecordName)> {
        let mut out: Vec<_> = self.0.iter().flat_map(|(zone, names)| names.keys().map(move |n| (zone, n))).collect();
        out.sort();
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// Why a change is made: what asked for the record, or that nothing does any more. It decides
/// which statement of the function's IAM policy allows the change (route53/batches.rs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// A record DDNS_RECORDS lists, and its marker.
    #[default]
    Mapping,
    /// A record an instance's name tag asks for, and its marker.
    Tag,
    /// A record of ours nothing asks for any more, or its marker: only ever deleted.
    Cleanup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub zone: ZoneId,
    pub name: RecordName,
    pub rtype: RecordType,
    pub action: Action,
    pub old: Option<RecordData>,
    pub new: Option<RecordData>,
    pub instance: InstanceId,
    pub origin: Origin,
}

impl Change {
    /// The name whose changes travel together: a marker goes with the name it guards.
    pub fn group_name(&self) -> RecordName {
        self.name.guarded().unwrap_or_else(|| self.name.clone())
    }

    /// The zone and [`Change::group_name`]: what the changes that travel together share.
    pub fn group_key(&self) -> (ZoneId, RecordName) {
        (self.zone.clone(), self.group_name())
    }

    /// Whether this changes an ownership marker rather than an address record.
    pub fn is_marker(&self) -> bool {
        self.rtype == RecordType::TXT
    }
}

/// What became of one planned change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub change: Change,
    pub result: Result<(), Failure>,
}

/// Items gathered into groups by `key`; groups and their items keep first-seen order.
pub fn group_by<T, K: Eq + Hash>(items: impl IntoIterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<Vec<T>> {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut groups: Vec<Vec<T>> = Vec::new();
    for item in items {
        let i = *index.entry(key(&item)).or_insert(groups.len());
        if i == groups.len() {
            groups.push(Vec::new());
        }
        groups[i].push(item);
    }
    groups
}
