//! What DNS needs to know about an EC2 instance: its id, its state and its public addresses.
//! Plain values; the EC2 edge fills them in, the event parser and the desired records read them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::names::{InstanceId, RecordType};

/// EC2's instance states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstanceState {
    Pending,
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
}

impl InstanceState {
    /// EC2's name of a state, as events and DescribeInstances spell it.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            "shutting-down" => Self::ShuttingDown,
            "terminated" => Self::Terminated,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
        }
    }

    /// Whether the instance holds, or is about to hold, its public addresses.
    pub fn is_up(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }

    /// Terminated, or on its way there: its address is given back for good.
    pub fn is_gone(self) -> bool {
        matches!(self, Self::ShuttingDown | Self::Terminated)
    }
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What EC2 says about one instance, reduced to what DNS needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    pub state: InstanceState,
    pub ipv4: Option<Ipv4Addr>,
    /// The primary interface's primary private IPv4 address.
    pub private_ipv4: Option<Ipv4Addr>,
    /// The primary IPv6 address: the one EC2 marks primary, else the instance's own.
    pub ipv6: Option<Ipv6Addr>,
    /// The value of the discovery tag, when the instance carries it.
    pub name_tag: Option<String>,
    /// The value of the group tag (DDNS_GROUP_TAG_KEY), when the instance carries it.
    pub group_tag: Option<String>,
    /// Its availability zone, like `eu-west-1a`, for `{az}` in its tags.
    pub az: Option<String>,
    /// When it last started (Unix seconds): among newcomers to a name, the earliest wins.
    pub launched: Option<i64>,
}

impl Instance {
    /// The address a record of `rtype` holds: the private IPv4 when `private`, else the public
    /// one; IPv6 addresses are not split.
    pub fn address(&self, rtype: RecordType, private: bool) -> Option<String> {
        match rtype {
            RecordType::A if private => self.private_ipv4.map(|ip| ip.to_string()),
            RecordType::A => self.ipv4.map(|ip| ip.to_string()),
            RecordType::AAAA => self.ipv6.map(|ip| ip.to_string()),
            RecordType::TXT => None,
        }
    }
}

/// The instances one DescribeInstances pass found, by id.
pub type Instances = HashMap<InstanceId, Instance>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for name in ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"] {
            assert_eq!(InstanceState::parse(name).unwrap().as_str(), name);
        }
        assert_eq!(InstanceState::parse("rebooting"), None);
        assert!(InstanceState::Pending.is_up() && !InstanceState::Stopping.is_up());
    }
}
