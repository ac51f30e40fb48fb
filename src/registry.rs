//! The ownership registry: reads the TXT markers out of what Route53 holds, says of every name
//! whether it is free, ours or someone else's, finds the orphans (names our markers guard that
//! nothing wants any more), and writes the marker changes. Pure.

use std::collections::{BTreeMap, HashMap};

use crate::names::{InstanceId, RecordName, RecordType, ZoneId};
use crate::records::{Action, Change, Current, RecordData};
use crate::scope::Orphans;

/// The text every ownership marker starts with.
pub const HERITAGE: &str = "heritage=dynamic-dns-updater";

/// The value of the TXT marker that says `owner` manages a name for `instance`.
pub fn marker_value(owner: &str, instance: &InstanceId) -> String {
    format!("\"{HERITAGE},owner={owner},instance={instance}\"")
}

/// Who a name belongs to, by its marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No marker: nobody has claimed it.
    Free,
    /// Our marker, naming the instance it was written for.
    Ours { instance: Option<String>, marker: RecordData },
    /// Another owner's marker, or a TXT record at the marker's name that is no marker; the text
    /// says which, for people.
    Theirs(String),
}

/// What the plan wants of a name's marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerWant {
    /// Records will exist at the name: it must carry our marker (a new one gets `ttl`).
    Present { ttl: u32 },
    /// Nothing of ours will be left at the name.
    Absent,
    /// Leave the marker as it is.
    Keep,
}

/// A name our marker guards that nothing wants any more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Orphan {
    pub zone: ZoneId,
    pub name: RecordName,
    pub instance: InstanceId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    owner: String,
    /// Every name that has something at its marker's name.
    claims: BTreeMap<(ZoneId, RecordName), Claim>,
}

impl Registry {
    /// Reads every marker in `current` as `owner` sees it.
    pub fn read(current: &Current, owner: &str) -> Self {
        let mut claims = BTreeMap::new();
        for (zone, marker_name) in current.names() {
            let Some(guarded) = marker_name.guarded() else { continue };
            let Some(txt) = current.at(zone, marker_name).iter().find(|e| e.is(RecordType::TXT)) else { continue };
            let text: String = txt.values.iter().map(|v| v.trim_matches('"')).collect();
            claims.insert((zone.clone(), guarded), claim(&text, owner, txt.data()));
        }
        Self { owner: owner.to_string(), claims }
    }

    pub fn claim(&self, zone: &ZoneId, name: &RecordName) -> &Claim {
        self.claims.get(&(zone.clone(), name.clone())).unwrap_or(&Claim::Free)
    }

    /// How many names carry our marker.
    pub fn owned(&self) -> usize {
        self.claims.values().filter(|c| matches!(c, Claim::Ours { .. })).count()
    }

    /// Our names that `wanted` does not want, as far as `rule` lets this run clean them up.
    pub fn orphans(&self, wanted: impl Fn(&ZoneId, &RecordName) -> bool, rule: &Orphans) -> Vec<Orphan> {
        if *rule == Orphans::Ignore {
            return Vec::new();
        }
        let mut out = Vec::new();
        for ((zone, name), claim) in &self.claims {
            let Claim::Ours { instance: Some(instance), .. } = claim else { continue };
            let Ok(instance) = InstanceId::parse(instance) else { continue };
            let in_scope = match rule {
                Orphans::Of(only) => only.contains(&instance),
                _ => true,
            };
            if in_scope && !wanted(zone, name) {
                out.push(Orphan { zone: zone.clone(), name: name.clone(), instance });
            }
        }
        out
    }

    /// The change that brings `name`'s marker to what `want` asks, written for `instance`.
    pub fn marker_change(
        &self,
        zone: &ZoneId,
        name: &RecordName,
        instance: &InstanceId,
        want: MarkerWant,
    ) -> Option<Change> {
        let change = |action, old: Option<RecordData>, new: Option<RecordData>| Change {
            zone: zone.clone(),
            name: name.marker(),
            rtype: RecordType::TXT,
            action,
            old,
            new,
            instance: instance.clone(),
        };
        let value = || vec![marker_value(&self.owner, instance)];
        match (self.claim(zone, name), want) {
            (Claim::Free, MarkerWant::Present { ttl }) => {
                Some(change(Action::Create, None, Some(RecordData { ttl, values: value() })))
            }
            (Claim::Ours { instance: held, marker }, MarkerWant::Present { .. })
                if held.as_deref() != Some(instance.as_str()) =>
            {
                let new = RecordData { ttl: marker.ttl, values: value() };
                Some(change(Action::Update, Some(marker.clone()), Some(new)))
            }
            (Claim::Ours { marker, .. }, MarkerWant::Absent) => {
                Some(change(Action::Delete, Some(marker.clone()), None))
            }
            _ => None,
        }
    }
}

fn claim(text: &str, owner: &str, marker: RecordData) -> Claim {
    if !text.starts_with(HERITAGE) {
        return Claim::Theirs("a TXT record that is not an ownership marker".into());
    }
    let fields: HashMap<&str, &str> = text.split(',').filter_map(|kv| kv.split_once('=')).collect();
    match fields.get("owner") {
        Some(o) if *o == owner => Claim::Ours { instance: fields.get("instance").map(|i| i.to_string()), marker },
        Some(o) => Claim::Theirs(format!("owner {o}")),
        None => Claim::Theirs("an unnamed owner".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Existing, SetType};

    fn zone() -> ZoneId {
        ZoneId::parse("Z1").unwrap()
    }
    fn name(n: &str) -> RecordName {
        RecordName::parse(n).unwrap()
    }
    fn id(i: &str) -> InstanceId {
        InstanceId::parse(i).unwrap()
    }
    fn txt(at: &str, value: &str) -> Existing {
        Existing {
            name: RecordName::from_route53(at),
            rtype: SetType::Ours(RecordType::TXT),
            ttl: Some(60),
            values: vec![value.into()],
            special: None,
        }
    }
    fn marker(n: &str, owner: &str, instance: &str) -> Existing {
        txt(&format!("_ddns-owner.{n}."), &marker_value(owner, &id(instance)))
    }
    fn registry(sets: Vec<Existing>) -> Registry {
        let mut current = Current::default();
        for s in sets {
            current.add(&zone(), s);
        }
        Registry::read(&current, "me")
    }

    #[test]
    fn claims_by_marker() {
        let r = registry(vec![
            marker("ours.example.com", "me", "i-12345678"),
            marker("theirs.example.com", "them", "i-12345678"),
            txt("_ddns-owner.user.example.com.", "\"hello\""),
            txt("_ddns-owner.nameless.example.com.", "\"heritage=dynamic-dns-updater,instance=i-12345678\""),
            txt("plain.example.com.", "\"v=spf1 -all\""),
        ]);
        let at = |n: &str| r.claim(&zone(), &name(n)).clone();
        assert!(matches!(at("ours.example.com"), Claim::Ours { instance: Some(i), .. } if i == "i-12345678"));
        assert_eq!(at("theirs.example.com"), Claim::Theirs("owner them".into()));
        assert_eq!(at("user.example.com"), Claim::Theirs("a TXT record that is not an ownership marker".into()));
        assert_eq!(at("nameless.example.com"), Claim::Theirs("an unnamed owner".into()));
        assert_eq!(at("plain.example.com"), Claim::Free, "a TXT at the name itself is no marker");
        assert_eq!(at("other.example.com"), Claim::Free);
        assert_eq!(r.owned(), 1);
    }

    #[test]
    fn marker_changes() {
        use Action::*;
        let r = registry(vec![marker("ours.example.com", "me", "i-12345678")]);
        let (me, other) = (id("i-12345678"), id("i-87654321"));
        let change = |n: &str, i: &InstanceId, want| {
            r.marker_change(&zone(), &name(n), i, want).map(|c| (c.name.to_string(), c.action, c.new.map(|d| d.ttl)))
        };
        let present = MarkerWant::Present { ttl: 30 };
        let marker = |n: &str| format!("_ddns-owner.{n}");
        for (label, got, want) in [
            (
                "a free name gets one",
                change("new.example.com", &me, present),
                Some((marker("new.example.com"), Create, Some(30))),
            ),
            ("ours, same instance: nothing", change("ours.example.com", &me, present), None),
            (
                "ours, a new instance: rewritten, its TTL kept",
                change("ours.example.com", &other, present),
                Some((marker("ours.example.com"), Update, Some(60))),
            ),
            (
                "nothing left: deleted",
                change("ours.example.com", &me, MarkerWant::Absent),
                Some((marker("ours.example.com"), Delete, None)),
            ),
            ("kept", change("ours.example.com", &me, MarkerWant::Keep), None),
            ("a free name has nothing to delete", change("new.example.com", &me, MarkerWant::Absent), None),
        ] {
            assert_eq!(got, want, "{label}");
        }
        let created = r.marker_change(&zone(), &name("new.example.com"), &me, present).unwrap();
        assert_eq!(created.new.unwrap().values, [marker_value("me", &me)]);
    }

    #[test]
    fn orphans_within_the_rule() {
        let r = registry(vec![
            marker("a.example.com", "me", "i-0000000a"),
            marker("b.example.com", "me", "i-0000000b"),
            marker("theirs.example.com", "them", "i-0000000a"),
            txt("_ddns-owner.bad.example.com.", "\"heritage=dynamic-dns-updater,owner=me,instance=nope\""),
        ]);
        let names = |o: Vec<Orphan>| o.into_iter().map(|o| o.name.to_string()).collect::<Vec<_>>();
        let wants_b = |_: &ZoneId, n: &RecordName| n.as_str() == "b.example.com.";
        assert_eq!(names(r.orphans(|_, _| false, &Orphans::All)), ["a.example.com", "b.example.com"]);
        assert_eq!(names(r.orphans(wants_b, &Orphans::All)), ["a.example.com"], "a wanted name is no orphan");
        assert_eq!(names(r.orphans(|_, _| false, &Orphans::Of(vec![id("i-0000000b")]))), ["b.example.com"]);
        assert!(r.orphans(|_, _| false, &Orphans::Ignore).is_empty());
    }
}
