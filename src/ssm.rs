//! SSM edge: parameters read with decryption, through the shared, counted client. Used at cold
//! start for the webhook's URL and secret.

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::clients::Clients;
use crate::config::{Secret, Source};

/// The value `source` names: given inline, or held in an SSM parameter. Errors name `var`.
pub async fn resolve(clients: &Clients, source: &Source, var: &str) -> Result<Secret, String> {
    let name = match source {
        Source::Inline(secret) => return Ok(secret.clone()),
        Source::Parameter(name) => name,
    };
    let out = clients.ssm.get_parameter().name(name).with_decryption(true).send().await.map_err(|e| {
        let code = e.code().unwrap_or("the request failed").to_string();
        format!("{var}: parameter {name:?} could not be read ({code}: {})", DisplayErrorContext(&e))
    })?;
    out.parameter()
        .and_then(|p| p.value())
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim().to_string()))
        .ok_or_else(|| format!("{var}: parameter {name:?} is empty"))
}
