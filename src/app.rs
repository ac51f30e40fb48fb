//! Everything built once per process and borrowed by each invocation, and the one way to build
//! it: main.rs and the tests both call [`App::build`].

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tracing::warn;

use crate::clients::Clients;
use crate::config::Config;
use crate::failure::Failure;
use crate::incidents::{Incidents, Timing};
use crate::names::{RecordName, Zone, ZoneId};
use crate::notify::Notifier;
use crate::progress::Progress;
use crate::records::{Action, Outcome};
use crate::registry::Owner;
use crate::{route53, ssm};

/// What a process knows of the names our markers guard.
#[derive(Debug, Default)]
struct Known {
    names: BTreeSet<(ZoneId, RecordName)>,
    /// When the zones were last read whole.
    read_at: Option<Instant>,
}

/// Where the process runs, as the runtime environment tells it.
#[derive(Debug)]
pub struct Environment {
    pub function: Option<String>,
    pub region: Option<String>,
    /// Write the EMF metrics line (in Lambda, not in the CLI).
    pub emit_metrics: bool,
    /// Progress lines for long runs.
    pub progress: Box<dyn Progress>,
}

/// The open incidents as this process knows them, and what their parameter holds.
#[derive(Debug, Default)]
pub struct IncidentState {
    pub incidents: Incidents,
    /// The parameter's text as last read or written; `None` while it does not exist.
    pub stored: Option<String>,
    /// Reads or writes of the parameter that failed and are not yet counted in a metrics line.
    pub store_failures: usize,
}

#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub clients: Clients,
    pub notifier: Option<Notifier>,
    /// Why the configured webhook could not be set up at start-up (its parameter unreadable,
    /// say): no alert is sent until a cold start reads a good value, and DNS goes on.
    pub webhook_unavailable: Option<String>,
    /// Every configured zone's domain and type, as far as they are known: learned at start-up,
    /// and a zone that could not be read then, by the first invocation that can read it.
    zones: Mutex<Vec<Zone>>,
    /// Configured zones whose type is not known yet: never guessed, asked again each invocation.
    unread: Mutex<Vec<ZoneId>>,
    pub env: Environment,
    /// Who this deployment is in ownership markers.
    pub owner: Owner,
    pub incidents: Mutex<IncidentState>,
    /// A sweep has read the configured zones whole in this process.
    swept: AtomicBool,
    /// The names our markers guard, as the last whole read of the zones found them and the
    /// writes since changed them: read by name on every sweep, so that a name whose instance
    /// vanished or lost its tag without an event is found without reading the zones whole.
    known: Mutex<Known>,
    /// What has been warned about once in this process.
    warned: Mutex<HashSet<String>>,
}

impl App {
    /// Reads what start-up needs from AWS, side by side: the webhook's parameters, the allowed
    /// zones' names and the open incidents. An error names the variable whose value could not
    /// be used. The alert channel never stops DNS: a webhook whose parameters cannot be used is
    /// said once and left unavailable, and an incident store that cannot be read is said once,
    /// and alerting goes on from memory.
    pub async fn build(config: Config, clients: Clients, env: Environment) -> Result<Self, String> {
        let store = config.incident_store();
        let configured = config.zones();
        let (notifier, zones, stored, owner) = tokio::join!(
            async {
                match &config.webhook {
                    Some(settings) => Notifier::from_settings(settings, &clients).await.map(Some),
                    None => Ok(None),
                }
            },
            route53::read::zones(&clients, &configured),
            async {
                match store {
                    Some(name) => ssm::read(&clients, name).await,
                    None => Ok(None),
                }
            },
            owner_id(&config, &clients, &env)
        );
        let owner = Owner { id: owner?, legacy: config.legacy_owner.clone() };
        let (zones, unread) = zone_types(&config, zones)?;
        check_zones(&config, &zones)?;
        check_mappings(&config, &zones)?;
        warn_crossed(&config, &zones);
        let (notifier, webhook_unavailable) = match notifier {
            Ok(notifier) => (notifier, None),
            Err(why) => {
                warn!(why = %why, "the webhook is unavailable: no alerts are sent until a cold start reads a good value; DNS goes on");
                (None, Some(why))
            }
        };
        let app = Self {
            notifier,
            webhook_unavailable,
            zones: Mutex::new(zones),
            unread: Mutex::new(unread),
            owner,
            config,
            clients,
            env,
            incidents: Mutex::default(),
            swept: AtomicBool::new(false),
            known: Mutex::default(),
            warned: Mutex::default(),
        };
        app.load_incidents(stored);
        Ok(app)
    }

    fn load_incidents(&self, stored: Result<Option<String>, String>) {
        let mut state = self.incidents.lock().expect("not poisoned");
        match stored {
            Ok(None) => {}
            Ok(Some(text)) => {
                state.incidents = Incidents::load(&text).unwrap_or_else(|why| {
                    warn!(why = %why, "the incidents parameter holds what this version cannot read; it is replaced");
                    Incidents::default()
                });
                state.stored = Some(text);
            }
            Err(e) => {
                if self.first_time("incident store") {
                    warn!(error = %e, "the open incidents could not be read; alerting goes on from memory");
                }
                state.store_failures += 1;
            }
        }
    }

    /// The configured zones whose domain and type are known.
    pub fn zones(&self) -> Vec<Zone> {
        self.zones.lock().expect("not poisoned").clone()
    }

    /// Asks again for the type of every configured zone not known yet, and says of each that
    /// still cannot be read that its records are not written this invocation: a zone's type
    /// is never guessed (a private zone taken as public would get a public address).
    pub async fn learn_zones(&self) -> Vec<Failure> {
        let unread = self.unread.lock().expect("not poisoned").clone();
        if unread.is_empty() {
            return Vec::new();
        }
        let mut failures = Vec::new();
        for (id, zone) in route53::read::zones(&self.clients, &unread).await {
            match zone {
                Ok(zone) => {
                    self.unread.lock().expect("not poisoned").retain(|z| *z != id);
                    self.zones.lock().expect("not poisoned").push(zone);
                }
                Err(why) => failures.push(Failure {
                    message: format!(
                        "the hosted zone's type could not be read ({}); its records are left as they are this invocation, and it is asked again on the next",
                        why.message
                    ),
                    ..why
                }),
            }
        }
        failures
    }

    /// When alerts go out, as configured.
    pub fn timing(&self) -> Timing {
        Timing { after: self.config.alert_after, repeat: self.config.alert_repeat }
    }

    /// The parameter that keeps open incidents, while there is a webhook to alert through: what
    /// it holds is what was sent.
    pub fn incident_store(&self) -> Option<&str> {
        self.config.incident_store().filter(|_| self.notifier.is_some())
    }

    /// The function's name as alerts and metrics show it.
    pub fn function_name(&self) -> &str {
        self.env.function.as_deref().unwrap_or(crate::config::DEFAULT_NAME)
    }

    /// Whether no sweep has read the configured zones whole yet in this process.
    pub fn first_sweep(&self) -> bool {
        !self.swept.load(Ordering::Relaxed)
    }

    /// A sweep has read the configured zones whole.
    pub fn swept(&self) {
        self.swept.store(true, Ordering::Relaxed);
    }

    /// Whether this sweep reads the zones whole: the first of the process (until its clean-up
    /// went through), and then once DDNS_FULL_READ has passed since the last whole read.
    pub fn reads_whole(&self) -> bool {
        let known = self.known.lock().expect("not poisoned");
        self.first_sweep() || known.read_at.is_none_or(|at| at.elapsed() >= self.config.full_read)
    }

    /// Whether this process knows of any name our markers guard.
    pub fn knows_any(&self) -> bool {
        !self.known.lock().expect("not poisoned").names.is_empty()
    }

    /// The names our markers guard, as far as this process knows.
    pub fn known_names(&self) -> Vec<(ZoneId, RecordName)> {
        self.known.lock().expect("not poisoned").names.iter().cloned().collect()
    }

    /// What a read found of ours: a zone read whole replaces what was known of it; a name read
    /// by itself is known when it carries our marker, and forgotten when it does not.
    pub fn learned(&self, whole: &[ZoneId], read: &[(ZoneId, RecordName)], held: &[(ZoneId, RecordName)]) {
        let mut known = self.known.lock().expect("not poisoned");
        known.names.retain(|(z, n)| !whole.contains(z) && !read.contains(&(z.clone(), n.clone())));
        known.names.extend(held.iter().cloned());
        if !whole.is_empty() {
            known.read_at = Some(Instant::now());
        }
    }

    /// What the writes changed: names whose marker was written are ours, those whose marker
    /// was deleted are not.
    pub fn wrote(&self, outcomes: &[Outcome]) {
        let mut known = self.known.lock().expect("not poisoned");
        for o in outcomes.iter().filter(|o| o.result.is_ok() && o.change.is_marker()) {
            let key = o.change.group_key();
            match o.change.action {
                Action::Delete => known.names.remove(&key),
                Action::Create | Action::Update => known.names.insert(key),
            };
        }
    }

    /// True the first time `what` is asked about in this process: for warnings given once.
    pub fn first_time(&self, what: &str) -> bool {
        self.warned.lock().expect("not poisoned").insert(what.to_string())
    }
}

/// DDNS_OWNER_ID, else an id no other deployment has: the function's name, its region and its
/// account (function names are unique within an account and region). The account is asked of
/// STS at start-up only when no DDNS_OWNER_ID is set; Terraform always sets one.
async fn owner_id(config: &Config, clients: &Clients, env: &Environment) -> Result<String, String> {
    if let Some(id) = &config.owner_id {
        return Ok(id.clone());
    }
    let who = clients.sts.get_caller_identity().send().await.map_err(|e| {
        // Only a want of credentials is blamed on them: a refused connection is said as it is.
        let fix = if crate::failure::lacks_credentials(&e) {
            "Set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        } else {
            "Check that STS can be reached (the network, AWS_ENDPOINT_URL)"
        };
        format!(
            "DDNS_OWNER_ID: not set, and the AWS account to make one from could not be learned from STS ({}). {fix}, or set DDNS_OWNER_ID",
            crate::failure::sdk_message(&e)
        )
    })?;
    let account = who.account().unwrap_or("unknown-account");
    let function = env.function.as_deref().unwrap_or(crate::config::DEFAULT_NAME);
    let region = env.region.as_deref().unwrap_or("no-region");
    Ok(format!("{function}.{region}.{account}"))
}

/// The zones whose type could be learned, and the others. An allowed zone of fleet mode must be
/// readable: tags are placed by its domain. A mapping's zone that cannot be read is said once
/// and asked again by each invocation until it can be read; meanwhile its records are left as
/// they are, never written with a guessed type.
fn zone_types(
    config: &Config,
    zones: Vec<(ZoneId, Result<Zone, Failure>)>,
) -> Result<(Vec<Zone>, Vec<ZoneId>), String> {
    let allowed = |z: &ZoneId| config.discovery.as_ref().is_some_and(|d| d.zones.contains(z));
    let (mut out, mut unread) = (Vec::new(), Vec::new());
    for (id, zone) in zones {
        match zone {
            Ok(zone) => out.push(zone),
            Err(why) if allowed(&id) => {
                return Err(format!("DDNS_ZONES: hosted zone {id} could not be read ({})", why.message));
            }
            Err(why) => {
                warn!(zone = %id, why = %why.message, "a mapping's zone could not be read at start-up; its records wait until its type is known");
                unread.push(id);
            }
        }
    }
    Ok((out, unread))
}

/// Every DDNS_TAG_SUFFIXES entry must lie within one of the allowed zones, and no two allowed
/// zones share a domain and a type (a public and a private zone may: split-horizon).
fn check_zones(config: &Config, zones: &[Zone]) -> Result<(), String> {
    let Some(d) = &config.discovery else { return Ok(()) };
    let allowed: Vec<&Zone> = zones.iter().filter(|z| d.zones.contains(&z.id)).collect();
    for (i, a) in allowed.iter().enumerate() {
        if let Some(b) = allowed[i + 1..].iter().find(|b| b.name == a.name && b.private == a.private) {
            return Err(format!(
                "DDNS_ZONES: {} and {} are both {} zones for {}; a tagged name could go to either, so list only one",
                a.id,
                b.id,
                a.kind(),
                a.name.display()
            ));
        }
    }
    for suffix in &d.suffixes {
        if !allowed.iter().any(|zone| suffix.is_within(&zone.name)) {
            let names: Vec<String> = allowed.iter().map(|z| z.name.display()).collect();
            return Err(format!(
                "DDNS_TAG_SUFFIXES: {} lies in none of DDNS_ZONES' zones ({})",
                suffix.display(),
                names.join(", ")
            ));
        }
    }
    Ok(())
}

/// Every mapping's name must lie within its zone: Route53 refuses any other, so it is said at
/// start-up, naming the mapping and the zone, not at every apply.
fn check_mappings(config: &Config, zones: &[Zone]) -> Result<(), String> {
    let outside: Vec<String> = config
        .mappings
        .iter()
        .filter_map(|m| {
            let zone = zones.iter().find(|z| z.id == m.zone)?;
            (!m.name.is_within(&zone.name)).then(|| {
                format!("{} (instance {}) is not within zone {} ({})", m.name, m.instance, m.zone, zone.name.display())
            })
        })
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    Err(format!("DDNS_RECORDS: {}; give each name in its own zone's domain", outside.join("; ")))
}

/// An address choice against the zone's type is allowed (some want exactly that) but said once
/// per cold start: a private address in a public zone is shown to the world.
fn warn_crossed(config: &Config, zones: &[Zone]) {
    let private = |id: &ZoneId| zones.iter().any(|z| &z.id == id && z.private);
    for m in config.mappings.iter().filter(|m| m.address.crosses(private(&m.zone))) {
        warn!(name = %m.name, zone = %m.zone, address = ?m.address, "a mapping's address goes against its zone's type");
    }
    if let Some(d) = &config.discovery {
        for z in d.zones.iter().filter(|z| d.address.crosses(private(z))) {
            warn!(zone = %z, address = ?d.address, "DDNS_TAG_ADDRESS goes against this allowed zone's type");
        }
    }
}
