//! Everything built once per process and borrowed by each invocation, and the one way to build
//! it: main.rs and the tests both call [`App::build`].

use crate::clients::Clients;
use crate::config::Config;
use crate::names::{RecordName, ZoneId};
use crate::notify::Notifier;
use crate::progress::Progress;
use crate::route53;

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

#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub clients: Clients,
    pub notifier: Option<Notifier>,
    /// The allowed zones' names, learned once at start-up (fleet mode).
    pub zones: Vec<(ZoneId, RecordName)>,
    pub env: Environment,
}

impl App {
    /// Reads what start-up needs from AWS, side by side: the webhook's parameters and the allowed
    /// zones' names. An error names the variable whose value could not be used.
    pub async fn build(config: Config, clients: Clients, env: Environment) -> Result<Self, String> {
        let (notifier, zones) = tokio::join!(
            async {
                match &config.webhook {
                    Some(settings) => Notifier::from_settings(settings, &clients).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match &config.discovery {
                    Some(d) => route53::read::zone_names(&clients, &d.zones).await,
                    None => Ok(Vec::new()),
                }
            }
        );
        Ok(Self { notifier: notifier?, zones: zones?, config, clients, env })
    }

    /// The function's name as alerts and metrics show it.
    pub fn function_name(&self) -> &str {
        self.env.function.as_deref().unwrap_or("dynamic-dns-updater")
    }
}
