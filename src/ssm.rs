//! SSM edge, through the shared, counted client: the webhook's URL and secret read at cold start,
//! and the parameter that keeps open incidents across cold starts.

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

/// The value of a plain parameter of the function's own; `None` when it does not exist yet.
pub async fn read(clients: &Clients, name: &str) -> Result<Option<String>, String> {
    match clients.ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
        Err(e) if e.code() == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(format!("parameter {name:?} could not be read ({})", DisplayErrorContext(&e))),
    }
}

/// Writes a plain parameter of the function's own, creating it on the first write.
pub async fn write(clients: &Clients, name: &str, value: &str) -> Result<(), String> {
    let req = clients
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .tier(aws_sdk_ssm::types::ParameterTier::Standard)
        .overwrite(true);
    req.send()
        .await
        .map(|_| ())
        .map_err(|e| format!("parameter {name:?} could not be written ({})", DisplayErrorContext(&e)))
}

/// Deletes a parameter of the function's own; one that is already gone is fine.
pub async fn delete(clients: &Clients, name: &str) -> Result<(), String> {
    match clients.ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ParameterNotFound") => Ok(()),
        Err(e) => Err(format!("parameter {name:?} could not be deleted ({})", DisplayErrorContext(&e))),
    }
}
