//! The ownership registry: reads the TXT markers out of what Route53 holds, says of every name
//! whether it is free, ours or someone else's, finds the orphans (names our markers guard that
//! nothing wants any more), settles which instance holds a name several claim (the incumbent
//! rule), and writes the marker changes. Pure.

use std::collections::{BTreeMap, HashMap};

use crate::desired::{Desired, Refusal, Want};
use crate::names::{InstanceId, Place, RecordName, RecordType, ZoneId};
use crate::records::{Action, Change, Current, Origin, RecordData, group_by};
use crate::scope::Orphans;

/// The text every ownership marker starts with.
pub const HERITAGE: &str = "heritage=dynamic-dns-updater";

/// The value of the TXT marker that says `owner` manages the `types` records at a name for
/// `instance` (qualified by its account and region when it runs in a target's:
/// `instance=111122223333/eu-west-1/i-…`, which versions before targets read as no instance of
/// theirs, so never as one gone), or for a group (`group=true`, no one instance). Only the types
/// a marker lists are ours: a user's record of another type at the same name is never touched.
pub fn marker_value(owner: &str, instance: &InstanceId, types: &[RecordType]) -> String {
    let types: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let holder = if instance.is_group() { "group=true".to_string() } else { format!("instance={instance}") };
    format!("\"{HERITAGE},owner={owner},{holder},types={}\"", types.join("+"))
}

/// Who this deployment is in markers: its owner id, and the id an earlier version wrote by
/// default, whose markers it takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub id: String,
    pub legacy: Option<String>,
}

impl Owner {
    /// The comment of a change batch this owner sends, for Route53's change history.
    pub fn comment(&self, what: &str) -> String {
        format!("dynamic-dns-updater ({}): {what}", self.id)
    }
}

/// Who a name belongs to, by its marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No marker: nobody has claimed it.
    Free,
    /// Our marker, naming the instance it was written for and the types it guards (`None` in
    /// markers written before markers named them).
    Ours { instance: Option<String>, types: Option<Vec<RecordType>>, marker: RecordData },
    /// A marker under the owner id an earlier version of this deployment wrote by default. It
    /// may be ours or a deployment elsewhere's that had the same default, so it is taken over
    /// only where this deployment wants the name, and released only when its instance is gone.
    Legacy { instance: Option<String>, types: Option<Vec<RecordType>>, marker: RecordData },
    /// Another owner's marker, or a TXT record at the marker's name that is no marker; the text
    /// says which, for people.
    Theirs(String),
}

impl Claim {
    /// Whether this deployment may change what is at the name.
    pub fn is_ours(&self) -> bool {
        matches!(self, Claim::Ours { .. } | Claim::Legacy { .. })
    }

    /// Whether our marker (or an earlier default's) names this very instance.
    pub fn names(&self, instance: &InstanceId) -> bool {
        matches!(self, Claim::Ours { instance: Some(held), .. } | Claim::Legacy { instance: Some(held), .. }
            if held == instance.as_str())
    }

    /// Our own marker (not an earlier default's), naming exactly this instance and these types.
    fn says(&self, instance: &InstanceId, types: &[RecordType]) -> bool {
        matches!(self, Claim::Ours { instance: Some(held), types: Some(held_types), .. }
            if held == instance.as_str() && held_types == types)
    }

    /// The address types our marker says we wrote here: none for a name that is not ours,
    /// `None` when the marker predates naming them.
    pub fn types(&self) -> Option<&[RecordType]> {
        match self {
            Claim::Ours { types, .. } | Claim::Legacy { types, .. } => types.as_deref(),
            _ => Some(&[]),
        }
    }
}

/// What the plan wants of a name's marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarkerWant {
    /// Records of `types` will exist at the name: it must carry our marker saying so (a new one
    /// gets `ttl`).
    Present { ttl: u32, types: Vec<RecordType> },
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
    /// The address types the marker guards; `None`: it predates naming them, so any.
    pub types: Option<Vec<RecordType>>,
}

/// The records of the instances that hold their names, and the claims refused meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    pub records: Vec<Desired>,
    pub refusals: Vec<Refusal>,
}

/// What a run must look at, beyond the instances it described, before the registry can settle
/// who holds its names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LookAround {
    /// Instances to describe by id: the incumbents our markers name at its tagged names, and
    /// those under the earlier default owner id at names it does not want.
    pub ids: Vec<InstanceId>,
    /// Describe every tagged instance: a name its instance gives up may pass to another.
    pub tagged: bool,
    /// Describe the other members of the groups the described instances' group tags name: a
    /// group name holds all their addresses.
    pub grouped: bool,
    /// The names in play: those it wants, and those its instance gave up.
    pub names: Vec<(ZoneId, RecordName)>,
}

impl LookAround {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && !self.tagged && !self.grouped
    }
}

/// Who may write a tagged name this run.
#[derive(Debug, PartialEq, Eq)]
enum Holder<'a> {
    /// This instance: its wants go ahead. `why` says, for the refused, how it won.
    Of { instance: &'a InstanceId, why: &'static str },
    /// Every candidate goes ahead: the name is another owner's, and the plan says so for each.
    All,
    /// None: our marker names an instance that is not among the candidates and none of them
    /// claims the name; whatever happens to it is that instance's business.
    Nobody,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    owner: String,
    /// Every name that has something at its marker's name.
    claims: BTreeMap<(ZoneId, RecordName), Claim>,
    /// Places whose instances this run could not describe: what they hold stays as it is.
    blind: Vec<Place>,
}

impl Registry {
    /// Reads every marker in `current` as `owner` sees it.
    pub fn read(current: &Current, owner: &Owner) -> Self {
        let mut claims = BTreeMap::new();
        for (zone, marker_name) in current.names() {
            let Some(guarded) = marker_name.guarded() else { continue };
            let Some(txt) = current.at(zone, marker_name).iter().find(|e| e.is(RecordType::TXT)) else { continue };
            let text: String = txt.values.iter().map(|v| v.trim_matches('"')).collect();
            claims.insert((zone.clone(), guarded), claim(&text, owner, txt.data()));
        }
        Self { owner: owner.id.clone(), claims, blind: Vec::new() }
    }

    /// The same registry for a run that could not describe the instances of `places`: names
    /// their instances hold, and group names (whose members may run there), stay as they are;
    /// "not seen" is never "gone".
    pub fn blind_to(self, places: Vec<Place>) -> Self {
        Self { blind: places, ..self }
    }

    /// Whether a name's holder could not be seen this run.
    fn unseen(&self, holder: &InstanceId) -> bool {
        !self.blind.is_empty() && (holder.is_group() || self.blind.contains(&holder.place()))
    }

    /// Whether a wanted record's holder could not be seen this run: a static group's when one of
    /// its members runs in a blind place, a tag group's whenever a place is blind (a member may
    /// run there).
    fn unseen_row(&self, d: &Desired) -> bool {
        match (d.instance.is_group(), d.discovered) {
            (true, None) => d.members.iter().any(|m| self.unseen(m)),
            _ => self.unseen(&d.instance),
        }
    }

    pub fn claim(&self, zone: &ZoneId, name: &RecordName) -> &Claim {
        self.claims.get(&(zone.clone(), name.clone())).unwrap_or(&Claim::Free)
    }

    /// The instance our marker (or an earlier default's) at a name names.
    pub fn incumbent(&self, zone: &ZoneId, name: &RecordName) -> Option<&str> {
        match self.claim(zone, name) {
            Claim::Ours { instance: Some(i), .. } | Claim::Legacy { instance: Some(i), .. } => Some(i),
            _ => None,
        }
    }

    /// The incumbent rule. Of the instances whose tags name a name, the one our marker names
    /// keeps it while it still claims it; otherwise the earliest started of those that claim it
    /// (then the lowest id) takes it; the others are refused, and nothing of theirs is written.
    /// With no claimant left, the incumbent's own wants (a delete) go ahead; a candidate that
    /// is not the incumbent never touches a name our marker gives to another instance.
    /// Mappings are the operator's word and pass as they are.
    pub fn settle(&self, records: Vec<Desired>) -> Settled {
        let mut out = Settled::default();
        for mut rows in group_by(records, |d| (d.zone.clone(), d.name.clone())) {
            // Beside a group, an instance that claims nothing (stopped, terminated, still listed)
            // is no rival: the group takes the name, and its records replace whatever is left.
            if rows.iter().any(|d| d.instance.is_group()) {
                rows.retain(|d| d.instance.is_group() || d.discovered.is_none_or(|c| c.claims));
            }
            let marked = self.incumbent(&rows[0].zone, &rows[0].name).and_then(InstanceId::holder);
            let held_unseen = match &marked {
                // A group whose rows are here is judged by them; with none here, its members
                // may run where this run could not look.
                Some(h) if h.is_group() => !self.blind.is_empty() && !rows.iter().any(|d| d.instance.is_group()),
                Some(h) => self.unseen(h),
                None => false,
            };
            let unseen = held_unseen || rows.iter().any(|d| self.unseen_row(d));
            let mixed = mixed(&rows);
            if unseen || mixed.is_some() {
                out.refusals.extend(mixed.unwrap_or_default());
                // Left as it is: under the holder our marker names, if any, so it stays so.
                let reason = if unseen {
                    "its holder, or a group's member, runs where this run could not look"
                } else {
                    "claimed both as a group name and as one instance's"
                };
                out.records.extend(rows.into_iter().map(|d| Desired {
                    instance: marked.clone().unwrap_or(d.instance),
                    want: Want::Leave { reason: reason.into() },
                    ..d
                }));
                continue;
            }
            if rows[0].discovered.is_none() || rows[0].instance.is_group() {
                // The operator's word, or a group's: it holds the name. Taken over from another
                // holder, it leaves nothing of theirs behind while it has no address itself.
                let handed_over = marked.as_ref().is_some_and(|m| rows.iter().all(|d| d.instance != *m));
                out.records.extend(if handed_over { until_addressed(rows) } else { rows });
                continue;
            }
            match self.holder(&rows) {
                Holder::All => out.records.extend(rows),
                Holder::Nobody => {}
                Holder::Of { instance, why } => {
                    let instance = instance.clone();
                    let mut refused: Vec<&InstanceId> = rows
                        .iter()
                        .filter(|d| d.instance != instance && d.discovered.is_some_and(|c| c.claims))
                        .map(|d| &d.instance)
                        .collect();
                    refused.dedup();
                    let name = rows[0].name.display();
                    out.refusals.extend(refused.into_iter().map(|other| Refusal {
                        instance: other.clone(),
                        name: name.clone(),
                        reason: format!(
                            "held by {instance}, {why}; {other} takes it over once {instance} stops claiming it. \
                             Remove the tag from one of them to end the overlap"
                        ),
                    }));
                    let handed_over = marked.as_ref().is_some_and(|m| *m != instance);
                    let rows = rows.into_iter().filter(|d| d.instance == instance).collect();
                    out.records.extend(if handed_over { until_addressed(rows) } else { rows });
                }
            }
        }
        out
    }

    fn holder<'a>(&self, group: &'a [Desired]) -> Holder<'a> {
        debug_assert!(!group.iter().any(|d| d.instance.is_group()));
        let (zone, name) = (&group[0].zone, &group[0].name);
        if let Claim::Theirs(_) = self.claim(zone, name) {
            return Holder::All;
        }
        let incumbent = self.incumbent(zone, name).and_then(|i| group.iter().find(|d| d.instance.as_str() == i));
        let claims = |d: &&Desired| d.discovered.is_some_and(|c| c.claims);
        let addressed =
            |i: &InstanceId| group.iter().any(|d| d.instance == *i && matches!(d.want, Want::Address { .. }));
        // A running incumbent with no address (its Elastic IP moved to another claimant, say)
        // has nothing to give the name: it yields to a claimant that has one.
        let yields = |d: &Desired| {
            d.discovered.is_some_and(|c| c.running)
                && !addressed(&d.instance)
                && group.iter().filter(claims).any(|other| addressed(&other.instance))
        };
        if let Some(d) = incumbent.filter(claims).filter(|d| !yields(d)) {
            return Holder::Of {
                instance: &d.instance,
                why: "the instance its ownership marker names, which still claims it",
            };
        }
        let newcomer = group.iter().filter(claims).min_by_key(|d| {
            (!addressed(&d.instance), d.discovered.and_then(|c| c.launched).unwrap_or(i64::MAX), &d.instance)
        });
        match (newcomer, incumbent, self.incumbent(zone, name)) {
            (Some(d), ..) => Holder::Of { instance: &d.instance, why: "which started first" },
            (None, Some(d), _) => Holder::Of { instance: &d.instance, why: "the incumbent" },
            (None, None, None) => Holder::Of { instance: &group[0].instance, why: "the only candidate" },
            (None, None, Some(_)) => Holder::Nobody,
        }
    }

    /// What a run that wants `records`, cleans up the orphans `rule` lets it, and described
    /// the instances `described` knows (every tagged one when `all_tagged`) must look at before
    /// settling. `fleet`: tags name names, so a name an event's instance gives up may pass on;
    /// `both_kinds`: name tags and group tags are both in use.
    pub fn look_around(
        &self,
        records: &[Desired],
        rule: &Orphans,
        all_tagged: bool,
        fleet: bool,
        both_kinds: bool,
        described: impl Fn(&InstanceId) -> bool,
    ) -> LookAround {
        let mut names: Vec<(ZoneId, RecordName)> = records.iter().map(|d| (d.zone.clone(), d.name.clone())).collect();
        names.sort();
        names.dedup();
        let wants = |z: &ZoneId, n: &RecordName| names.binary_search(&(z.clone(), n.clone())).is_ok();
        let mut ids: Vec<InstanceId> = Vec::new();
        if !all_tagged {
            let tagged = records.iter().filter(|d| d.discovered.is_some());
            ids.extend(
                tagged
                    .filter_map(|d| self.incumbent(&d.zone, &d.name))
                    .filter_map(InstanceId::holder)
                    .filter(|i| !i.is_group()),
            );
        }
        if *rule != Orphans::Ignore {
            ids.extend(self.legacy_instances(wants));
        }
        ids.retain(|i| !described(i));
        ids.sort();
        ids.dedup();
        let mut given_up: Vec<(ZoneId, RecordName)> = Vec::new();
        if fleet && !all_tagged {
            let dropped = records.iter().filter(|d| {
                d.discovered.is_some_and(|c| !c.claims) && self.incumbent(&d.zone, &d.name) == Some(d.instance.as_str())
            });
            given_up.extend(dropped.map(|d| (d.zone.clone(), d.name.clone())));
            given_up.extend(self.orphans(wants, rule, |_| false).into_iter().map(|o| (o.zone, o.name)));
        }
        // A tagged name a group holds: the group's rows, if it has members, must be seen beside
        // this claim, or the claim would take the name from them.
        let group = InstanceId::group();
        let held_by_group = records.iter().any(|d| {
            d.discovered.is_some() && !d.instance.is_group() && self.incumbent(&d.zone, &d.name) == Some(group.as_str())
        });
        // Where both kinds of tag are in use, either kind may claim a name: a claim is settled
        // only beside every tagged instance, the other kind's included.
        let either = both_kinds && !all_tagged && records.iter().any(|d| d.discovered.is_some());
        let tagged = !given_up.is_empty() || (fleet && !all_tagged && held_by_group) || either;
        let grouped = !all_tagged && !tagged && records.iter().any(|d| d.instance.is_group() && d.discovered.is_some());
        names.extend(given_up);
        names.sort();
        names.dedup();
        LookAround { ids, tagged, grouped, names }
    }

    /// Every name that carries our marker (an earlier default's included).
    pub fn held(&self) -> Vec<(ZoneId, RecordName)> {
        self.claims.iter().filter(|(_, c)| c.is_ours()).map(|(key, _)| key.clone()).collect()
    }

    /// How many names carry our marker, an earlier default's included.
    pub fn owned(&self) -> usize {
        self.claims.values().filter(|c| c.is_ours()).count()
    }

    /// How many of them are group names.
    pub fn groups(&self) -> usize {
        let group = InstanceId::group();
        self.claims.keys().filter(|(zone, name)| self.incumbent(zone, name) == Some(group.as_str())).count()
    }

    /// The instances that markers under the earlier default name at names `wanted` does not
    /// want: whether they are gone decides whether those names are released.
    pub fn legacy_instances(&self, wanted: impl Fn(&ZoneId, &RecordName) -> bool) -> Vec<InstanceId> {
        let mut out: Vec<InstanceId> = self
            .owned_names()
            .filter(|(o, legacy)| *legacy && !wanted(&o.zone, &o.name))
            .map(|(o, _)| o.instance)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Our names that `wanted` does not want, as far as `rule` lets this run clean them up. A
    /// name under the earlier default is one only when `gone` says its instance is.
    pub fn orphans(
        &self,
        wanted: impl Fn(&ZoneId, &RecordName) -> bool,
        rule: &Orphans,
        gone: impl Fn(&InstanceId) -> bool,
    ) -> Vec<Orphan> {
        if *rule == Orphans::Ignore {
            return Vec::new();
        }
        let in_scope = |instance: &InstanceId| match rule {
            Orphans::Of(only) => only.contains(instance),
            _ => true,
        };
        self.owned_names()
            .filter(|(orphan, legacy)| !legacy || gone(&orphan.instance))
            .map(|(orphan, _)| orphan)
            .filter(|o| in_scope(&o.instance) && !wanted(&o.zone, &o.name) && !self.unseen(&o.instance))
            .collect()
    }

    /// Every name a release gives back: ours, and those under the earlier default that `keep`
    /// says are this deployment's (it configures the name, or sees its instance gone).
    pub fn releasable(&self, keep: impl Fn(&Orphan) -> bool) -> Vec<Orphan> {
        self.owned_names().filter(|(o, legacy)| !legacy || keep(o)).map(|(o, _)| o).collect()
    }

    /// Our names with the instance their marker names, and whether the marker is a legacy one.
    fn owned_names(&self) -> impl Iterator<Item = (Orphan, bool)> + '_ {
        self.claims.iter().filter_map(|((zone, name), claim)| {
            let (instance, legacy) = match claim {
                Claim::Ours { instance: Some(i), .. } => (i, false),
                Claim::Legacy { instance: Some(i), .. } => (i, true),
                _ => return None,
            };
            let instance = InstanceId::holder(instance)?;
            let types = claim.types().map(<[RecordType]>::to_vec);
            Some((Orphan { zone: zone.clone(), name: name.clone(), instance, types }, legacy))
        })
    }

    /// The change that brings `name`'s marker to what `want` asks, written for `instance`. A
    /// marker under the earlier default is rewritten under this owner as soon as it is wanted.
    pub fn marker_change(
        &self,
        zone: &ZoneId,
        name: &RecordName,
        instance: &InstanceId,
        want: MarkerWant,
        origin: Origin,
    ) -> Option<Change> {
        let change = |action, old: Option<RecordData>, new: Option<RecordData>| Change {
            zone: zone.clone(),
            name: name.marker(),
            rtype: RecordType::TXT,
            action,
            old,
            new,
            instance: instance.clone(),
            origin,
        };
        let value = |types: &[RecordType]| vec![marker_value(&self.owner, instance, types)];
        match (self.claim(zone, name), want) {
            (Claim::Free, MarkerWant::Present { ttl, types }) => {
                Some(change(Action::Create, None, Some(RecordData { ttl, values: value(&types) })))
            }
            (held @ (Claim::Ours { marker, .. } | Claim::Legacy { marker, .. }), MarkerWant::Present { types, .. })
                if !held.says(instance, &types) =>
            {
                let new = RecordData { ttl: marker.ttl, values: value(&types) };
                Some(change(Action::Update, Some(marker.clone()), Some(new)))
            }
            (Claim::Ours { marker, .. } | Claim::Legacy { marker, .. }, MarkerWant::Absent) => {
                Some(change(Action::Delete, Some(marker.clone()), None))
            }
            _ => None,
        }
    }
}

/// The rows of an instance that takes a name over from another: while it has no address yet
/// (pending, or stopped under DDNS_ON_STOP=keep), what the other left is deleted rather than
/// left, so a name never keeps an address its holder gave back; it takes the name once it has
/// an address.
fn until_addressed(rows: Vec<Desired>) -> Vec<Desired> {
    rows.into_iter()
        .map(|d| match d.want {
            Want::Leave { reason } => Desired {
                want: Want::Absent {
                    reason: format!("{reason}; it takes the name over once it has an address, and until then nothing points at the address the last holder gave back"),
                },
                ..d
            },
            _ => d,
        })
        .collect()
}

/// A name claimed both as a group name and as one instance's (by its name tag, or a mapping): each
/// of the single claims is refused, naming the group's members, and the name is left as it is.
fn mixed(rows: &[Desired]) -> Option<Vec<Refusal>> {
    let group = rows.iter().find(|d| d.instance.is_group())?;
    let mut singles: Vec<&InstanceId> = rows.iter().filter(|d| !d.instance.is_group()).map(|d| &d.instance).collect();
    singles.sort();
    singles.dedup();
    if singles.is_empty() {
        return None;
    }
    let source = |d: &Desired| if d.discovered.is_some() { "its group tag" } else { "DDNS_RECORDS' instance_ids" };
    let members = crate::desired::member_list(&group.members);
    let name = group.name.display();
    Some(
        singles
            .into_iter()
            .map(|single| Refusal {
                instance: single.clone(),
                name: name.clone(),
                reason: format!(
                    "claimed both as a group name (by {}: {members}) and as the name of {single} alone; whatever is there is left as it is. Take the name out of one of them",
                    source(group)
                ),
            })
            .collect(),
    )
}

fn claim(text: &str, owner: &Owner, marker: RecordData) -> Claim {
    if !text.starts_with(HERITAGE) {
        return Claim::Theirs("a TXT record that is not an ownership marker".into());
    }
    let fields: HashMap<&str, &str> = text.split(',').filter_map(|kv| kv.split_once('=')).collect();
    let instance = match fields.get("group") {
        Some(&"true") => Some(InstanceId::group().to_string()),
        _ => fields.get("instance").map(|i| i.to_string()),
    };
    let types = fields.get("types").map(|t| t.split('+').filter_map(|t| RecordType::parse(t).ok()).collect());
    match fields.get("owner") {
        Some(o) if *o == owner.id => Claim::Ours { instance, types, marker },
        Some(o) if owner.legacy.as_deref() == Some(*o) => Claim::Legacy { instance, types, marker },
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
        txt(&format!("_ddns-owner.{n}."), &marker_value(owner, &id(instance), &[RecordType::A]))
    }
    fn registry(sets: Vec<Existing>) -> Registry {
        let mut current = Current::default();
        for s in sets {
            current.add(&zone(), s);
        }
        Registry::read(&current, &Owner { id: "me".into(), legacy: Some("old-default".into()) })
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
            r.marker_change(&zone(), &name(n), i, want, Origin::Tag)
                .map(|c| (c.name.to_string(), c.action, c.new.map(|d| d.ttl)))
        };
        let present = || MarkerWant::Present { ttl: 30, types: vec![RecordType::A] };
        let marker = |n: &str| format!("_ddns-owner.{n}");
        for (label, got, want) in [
            (
                "a free name gets one",
                change("new.example.com", &me, present()),
                Some((marker("new.example.com"), Create, Some(30))),
            ),
            ("ours, same instance: nothing", change("ours.example.com", &me, present()), None),
            (
                "ours, a new instance: rewritten, its TTL kept",
                change("ours.example.com", &other, present()),
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
        let created = r.marker_change(&zone(), &name("new.example.com"), &me, present(), Origin::Tag).unwrap();
        assert_eq!(
            (created.new.unwrap().values, created.origin),
            (vec![marker_value("me", &me, &[RecordType::A])], Origin::Tag)
        );
    }

    #[test]
    fn markers_under_the_earlier_default_are_taken_over_where_wanted_and_released_only_when_gone() {
        let r = registry(vec![
            marker("mine.example.com", "old-default", "i-0000000a"),
            marker("elsewhere.example.com", "old-default", "i-0000000e"),
        ]);
        let at = |n: &str| r.claim(&zone(), &name(n)).clone();
        assert!(matches!(at("mine.example.com"), Claim::Legacy { .. }) && at("mine.example.com").is_ours());
        assert_eq!(r.owned(), 2);
        let takeover = r
            .marker_change(
                &zone(),
                &name("mine.example.com"),
                &id("i-0000000a"),
                MarkerWant::Present { ttl: 60, types: vec![RecordType::A] },
                Origin::Mapping,
            )
            .unwrap();
        assert_eq!(
            (takeover.action, takeover.new.unwrap().values),
            (Action::Update, vec![marker_value("me", &id("i-0000000a"), &[RecordType::A])])
        );
        let wants_mine = |_: &ZoneId, n: &RecordName| n.as_str() == "mine.example.com.";
        assert_eq!(r.legacy_instances(wants_mine), [id("i-0000000e")], "only what is not wanted needs a look");
        assert!(r.orphans(wants_mine, &Orphans::All, |_| false).is_empty(), "not seen gone: kept");
        let gone = r.orphans(wants_mine, &Orphans::All, |i| *i == id("i-0000000e"));
        assert_eq!(gone.iter().map(|o| o.name.to_string()).collect::<Vec<_>>(), ["elsewhere.example.com"]);
        let released = r.releasable(|o| o.name.as_str() == "mine.example.com.");
        assert_eq!(released.iter().map(|o| o.name.to_string()).collect::<Vec<_>>(), ["mine.example.com"]);
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
        let none_gone = |_: &InstanceId| false;
        assert_eq!(names(r.orphans(|_, _| false, &Orphans::All, none_gone)), ["a.example.com", "b.example.com"]);
        assert_eq!(
            names(r.orphans(wants_b, &Orphans::All, none_gone)),
            ["a.example.com"],
            "a wanted name is no orphan"
        );
        assert_eq!(names(r.orphans(|_, _| false, &Orphans::Of(vec![id("i-0000000b")]), none_gone)), ["b.example.com"]);
        assert!(r.orphans(|_, _| false, &Orphans::Ignore, none_gone).is_empty());
    }

    #[test]
    fn a_marker_says_where_its_instance_runs_and_a_place_not_seen_keeps_what_it_holds() {
        use crate::desired::{Claimant, Desired, Want};
        let there = Place::target("111122223333", "eu-west-1").unwrap();
        let theirs = id("i-0000000a").at(&there);
        let value = marker_value("me", &theirs, &[RecordType::A]);
        assert_eq!(value, format!("\"{HERITAGE},owner=me,instance=111122223333/eu-west-1/i-0000000a,types=A\""));
        let r = registry(vec![
            txt("_ddns-owner.far.example.com.", &value),
            txt("_ddns-owner.near.example.com.", &marker_value("me", &id("i-0000000b"), &[RecordType::A])),
        ]);
        assert_eq!(r.incumbent(&zone(), &name("far.example.com")), Some(theirs.as_str()));
        assert_eq!(
            r.incumbent(&zone(), &name("near.example.com")),
            Some("i-0000000b"),
            "no account: the function's own"
        );
        let nothing = |_: &ZoneId, _: &RecordName| false;
        assert_eq!(r.orphans(nothing, &Orphans::All, |_| false).len(), 2);
        // That place could not be described: its name is no orphan, and no newcomer takes it.
        let blind = r.blind_to(vec![there]);
        let orphans: Vec<String> =
            blind.orphans(nothing, &Orphans::All, |_| false).iter().map(|o| o.name.display()).collect();
        assert_eq!(orphans, ["near.example.com"]);
        let newcomer = Desired {
            zone: zone(),
            name: name("far.example.com"),
            rtype: RecordType::A,
            instance: id("i-0000000c"),
            members: Vec::new(),
            want: Want::Address { values: vec!["3.1.2.4".into()], ttl: 60 },
            discovered: Some(Claimant { claims: true, launched: Some(1), running: true }),
        };
        let settled = blind.settle(vec![newcomer]);
        assert!(matches!(settled.records[0].want, Want::Leave { .. }), "{settled:?}");
        assert_eq!(settled.records[0].instance, theirs, "under its holder, so its marker stays");
    }

    #[test]
    fn a_group_marker_says_it_is_a_group_and_its_name_is_cleaned_up_as_the_groups() {
        let value = marker_value("me", &InstanceId::group(), &[RecordType::A]);
        assert_eq!(value, format!("\"{HERITAGE},owner=me,group=true,types=A\""));
        let r = registry(vec![txt("_ddns-owner.web.example.com.", &value)]);
        assert_eq!(r.incumbent(&zone(), &name("web.example.com")), Some("group"));
        assert_eq!((r.owned(), r.groups()), (1, 1));
        let nothing = |_: &ZoneId, _: &RecordName| false;
        // A sweep cleans it up; an event about one instance does not, unless it covers groups.
        let orphans = r.orphans(nothing, &Orphans::All, |_| false);
        assert_eq!(orphans.iter().map(|o| o.instance.clone()).collect::<Vec<_>>(), [InstanceId::group()]);
        assert!(r.orphans(nothing, &Orphans::Of(vec![id("i-0000000a")]), |_| false).is_empty());
        let regrouped = Orphans::Of(vec![id("i-0000000a"), InstanceId::group()]);
        assert_eq!(r.orphans(nothing, &regrouped, |_| false).len(), 1);
    }

    #[test]
    fn a_name_claimed_as_a_group_and_by_one_instance_is_refused_and_left_as_it_is() {
        use crate::desired::{Claimant, Desired, Want};
        let row = |instance: InstanceId, members: Vec<InstanceId>, tagged: bool| Desired {
            zone: zone(),
            name: name("web.example.com"),
            rtype: RecordType::A,
            instance,
            members,
            want: Want::Address { values: vec!["3.1.2.4".into()], ttl: 60 },
            discovered: tagged.then_some(Claimant { claims: true, launched: None, running: true }),
        };
        let (a, b, c) = (id("i-0000000a"), id("i-0000000b"), id("i-0000000c"));
        let group = row(InstanceId::group(), vec![a.clone(), b.clone()], true);
        for (label, single, marker) in [
            ("a name tag, under a group marker", row(c.clone(), vec![], true), Some("group")),
            ("a mapping, on a free name", row(c.clone(), vec![], false), None),
        ] {
            let held = marker.map(|_| {
                txt("_ddns-owner.web.example.com.", &marker_value("me", &InstanceId::group(), &[RecordType::A]))
            });
            let settled = registry(held.into_iter().collect()).settle(vec![group.clone(), single]);
            assert_eq!(settled.refusals.len(), 1, "{label}");
            let refusal = &settled.refusals[0];
            assert_eq!(refusal.instance, c, "{label}");
            for side in [&a, &b, &c] {
                assert!(refusal.reason.contains(side.as_str()), "{label}: names both sides: {}", refusal.reason);
            }
            assert!(settled.records.iter().all(|d| matches!(d.want, Want::Leave { .. })), "{label}: left as it is");
            let holders: Vec<&str> = settled.records.iter().map(|d| d.instance.as_str()).collect();
            let expected = marker.map_or(vec!["group", "i-0000000c"], |m| vec![m, m]);
            assert_eq!(holders, expected, "{label}: under the marker's holder, so the marker stays");
        }
        // A group alone, or with only group rows, passes as it is.
        let settled = registry(vec![]).settle(vec![group.clone()]);
        assert_eq!((settled.records, settled.refusals.len()), (vec![group], 0));
    }

    #[test]
    fn the_incumbent_keeps_a_name_while_it_claims_it() {
        use crate::desired::{Claimant, Desired, Want};
        let candidate = |i: &str, claims: bool, launched: i64| Desired {
            zone: zone(),
            name: name("web.example.com"),
            rtype: RecordType::A,
            instance: id(i),
            members: Vec::new(),
            want: if claims {
                Want::Address { values: vec!["3.1.2.4".into()], ttl: 60 }
            } else {
                Want::Absent { reason: "gone".into() }
            },
            discovered: Some(Claimant { claims, launched: Some(launched), running: claims }),
        };
        let (a, b, c) = ("i-0000000a", "i-0000000b", "i-0000000c");
        // (label, the marker's instance, candidates (id, claims, launched), holder, refused)
        type Case<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, bool, i64)>, Option<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            ("overlap: the incumbent keeps it", Some(a), vec![(a, true, 20), (b, true, 10)], Some(a), vec![b]),
            (
                "the incumbent terminated: the newcomer takes it",
                Some(a),
                vec![(a, false, 10), (b, true, 20)],
                Some(b),
                vec![],
            ),
            ("a free name: the earliest started", None, vec![(b, true, 20), (c, true, 10)], Some(c), vec![b]),
            ("a tie: the lowest id", None, vec![(b, true, 10), (a, true, 10)], Some(a), vec![b]),
            ("newcomers after the incumbent left", Some(a), vec![(b, true, 30), (c, true, 20)], Some(c), vec![b]),
            ("nobody claims: the incumbent's delete", Some(a), vec![(a, false, 10), (b, false, 20)], Some(a), vec![]),
            ("a late event of another: untouched", Some(b), vec![(a, false, 10)], None, vec![]),
            ("a free name nobody claims", None, vec![(a, false, 10)], Some(a), vec![]),
        ];
        for (label, incumbent, candidates, holder, refused) in cases {
            let r = registry(incumbent.map(|i| marker("web.example.com", "me", i)).into_iter().collect());
            let records = candidates.iter().map(|(i, claims, at)| candidate(i, *claims, *at)).collect();
            let settled = r.settle(records);
            let mut holders: Vec<&str> = settled.records.iter().map(|d| d.instance.as_str()).collect();
            holders.dedup();
            assert_eq!(holders, holder.into_iter().collect::<Vec<_>>(), "{label}");
            let refusals: Vec<&str> = settled.refusals.iter().map(|r| r.instance.as_str()).collect();
            assert_eq!(refusals, refused, "{label}");
            if let (Some(holder), Some(r)) = (holder, settled.refusals.first()) {
                assert!(r.reason.starts_with(&format!("held by {holder}, ")), "{label}: {}", r.reason);
            }
        }
        let theirs = registry(vec![marker("web.example.com", "them", a)]);
        let settled = theirs.settle(vec![candidate(a, true, 1), candidate(b, true, 2)]);
        assert_eq!(settled.records.len(), 2, "another owner's name: every candidate goes on to be refused by the plan");
    }

    /// A tagged claimant for the verdict's hand-over rows: its state's claim and its want.
    fn claimant(i: &str, want: crate::desired::Want, claims: bool, running: bool, launched: i64) -> Desired {
        use crate::desired::Claimant;
        Desired {
            zone: zone(),
            name: name("web.example.com"),
            rtype: RecordType::A,
            instance: id(i),
            members: Vec::new(),
            want,
            discovered: Some(Claimant { claims, launched: Some(launched), running }),
        }
    }

    #[test]
    fn a_hand_over_never_keeps_a_released_address_and_an_addressless_holder_yields() {
        use crate::desired::Want;
        let addr = || Want::Address { values: vec!["3.1.2.4".into()], ttl: 60 };
        let leave = || Want::Leave { reason: "instance is stopped".into() };
        let starting = || Want::Leave { reason: "instance is starting".into() };
        let absent = || Want::Absent { reason: "instance is terminated".into() };
        let (a, b) = ("i-0000000a", "i-0000000b");
        // (label, candidates (id, want, claims, running, launched), holder, what its want becomes)
        type Case<'a> = (&'a str, Vec<(&'a str, Want, bool, bool, i64)>, &'a str, &'a str);
        let cases: Vec<Case> = vec![
            (
                "the incumbent terminated, the successor stopped under keep: the record goes",
                vec![(a, absent(), false, false, 10), (b, leave(), true, false, 20)],
                b,
                "absent",
            ),
            (
                "the incumbent terminated, the successor pending: the record goes",
                vec![(a, absent(), false, false, 10), (b, starting(), true, false, 20)],
                b,
                "absent",
            ),
            (
                "the incumbent stopped under keep keeps its own record",
                vec![(a, leave(), true, false, 10), (b, addr(), true, true, 20)],
                a,
                "leave",
            ),
            (
                "a running incumbent with no address yields to one with an address",
                vec![(a, absent(), true, true, 10), (b, addr(), true, true, 20)],
                b,
                "address",
            ),
            (
                "a running incumbent with no address keeps it when no one has one",
                vec![(a, absent(), true, true, 10), (b, leave(), true, false, 20)],
                a,
                "absent",
            ),
        ];
        for (label, candidates, holder, want) in cases {
            let r = registry(vec![marker("web.example.com", "me", a)]);
            let rows = candidates.into_iter().map(|(i, w, claims, running, at)| claimant(i, w, claims, running, at));
            let settled = r.settle(rows.collect());
            assert_eq!(settled.records.len(), 1, "{label}: {settled:?}");
            let d = &settled.records[0];
            assert_eq!(d.instance.as_str(), holder, "{label}");
            let became = match d.want {
                Want::Address { .. } => "address",
                Want::Absent { .. } => "absent",
                _ => "leave",
            };
            assert_eq!(became, want, "{label}: {d:?}");
        }
        // A free name: one with an address before one without, whatever started first.
        let r = registry(vec![]);
        let settled = r.settle(vec![claimant(a, leave(), true, false, 10), claimant(b, addr(), true, true, 20)]);
        assert_eq!(settled.records[0].instance.as_str(), b, "{settled:?}");
    }

    #[test]
    fn beside_a_group_an_instance_that_claims_nothing_is_no_rival() {
        use crate::desired::{Claimant, Want};
        let group = Desired {
            discovered: Some(Claimant { claims: true, launched: None, running: true }),
            members: vec![id("i-0000000b")],
            ..claimant("i-0000000b", Want::Address { values: vec!["3.1.2.5".into()], ttl: 60 }, true, true, 1)
        };
        let group = Desired { instance: InstanceId::group(), ..group };
        let old = claimant("i-0000000a", Want::Absent { reason: "instance is terminated".into() }, false, false, 1);
        let r = registry(vec![marker("web.example.com", "me", "i-0000000a")]);
        let settled = r.settle(vec![old.clone(), group.clone()]);
        assert!(settled.refusals.is_empty(), "{settled:?}");
        assert_eq!(settled.records, vec![group.clone()], "the group takes the name over");
        // An instance that still claims it is a clash, refused and left as it is.
        let running = claimant("i-0000000a", Want::Address { values: vec!["3.1.2.4".into()], ttl: 60 }, true, true, 1);
        let settled = r.settle(vec![running, group]);
        assert_eq!(settled.refusals.len(), 1, "{settled:?}");
        assert!(settled.records.iter().all(|d| matches!(d.want, Want::Leave { .. })));
    }

    #[test]
    fn with_both_kinds_of_tag_an_event_looks_at_every_tagged_instance() {
        use crate::desired::Want;
        let r = registry(vec![]);
        let rows = [claimant("i-0000000a", Want::Address { values: vec!["3.1.2.4".into()], ttl: 60 }, true, true, 1)];
        let described = |_: &InstanceId| true;
        let one_kind = r.look_around(&rows, &Orphans::Of(vec![id("i-0000000a")]), false, true, false, described);
        let both = r.look_around(&rows, &Orphans::Of(vec![id("i-0000000a")]), false, true, true, described);
        assert!(!one_kind.tagged, "{one_kind:?}");
        assert!(both.tagged, "{both:?}");
        let sweep = r.look_around(&rows, &Orphans::All, true, true, true, described);
        assert!(sweep.is_empty(), "a sweep described them all already: {sweep:?}");
    }
}
