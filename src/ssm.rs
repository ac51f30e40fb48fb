//! SSM edge, through the shared, counted client: the webhook's URL and secret read at cold start,
//! and the parameter that keeps open incidents across cold starts.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::clients::Clients;
use crate::config::{Secret, Source};
use crate::failure::sdk_message;

/// The value `source` names: given inline (parsed already), or held in an SSM parameter and
/// read as `parse` reads it. Errors name `var`.
pub async fn resolve<T: Clone>(
    clients: &Clients,
    source: &Source<T>,
    var: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    let name = match source {
        Source::Inline(value) => return Ok(value.clone()),
        Source::Parameter(name) => name,
    };
    let out = clients
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| format!("{var}: parameter {name:?} could not be read ({})", sdk_message(&e)))?;
    let value = value_of(var, name, out.parameter().and_then(|p| p.value()))?;
    parse(value.expose()).map_err(|e| format!("{var}: the value of parameter {name:?} is unusable: {e}"))
}

/// What the Terraform module writes for a webhook value that a run did not give (`value_kept`
/// in terraform/main.tf). It is never a usable URL or secret.
pub const STAND_IN: &str = "not given:";

/// A parameter's value as a setting: neither empty nor the module's stand-in.
fn value_of(var: &str, name: &str, raw: Option<&str>) -> Result<Secret, String> {
    let value = raw.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(format!("{var}: parameter {name:?} is empty"));
    }
    if value.starts_with(STAND_IN) {
        return Err(format!(
            "{var}: parameter {name:?} holds the Terraform module's stand-in, not a value: apply again with the value given (webhook_url or webhook_secret) and its version raised"
        ));
    }
    Ok(Secret::new(value.to_string()))
}

/// The value of a plain parameter of the function's own; `None` when it does not exist yet.
pub async fn read(clients: &Clients, name: &str) -> Result<Option<String>, String> {
    match clients.ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
        Err(e) if e.code() == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(format!("parameter {name:?} could not be read ({})", sdk_message(&e))),
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
    req.send().await.map(|_| ()).map_err(|e| format!("parameter {name:?} could not be written ({})", sdk_message(&e)))
}

/// Deletes a parameter of the function's own; one that is already gone is fine.
pub async fn delete(clients: &Clients, name: &str) -> Result<(), String> {
    match clients.ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ParameterNotFound") => Ok(()),
        Err(e) => Err(format!("parameter {name:?} could not be deleted ({})", sdk_message(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_neither_empty_nor_the_modules_stand_in() {
        let var = "DDNS_WEBHOOK_SECRET_PARAMETER";
        assert_eq!(value_of(var, "/f/s", Some(" s3cret-0123456789 ")).unwrap().expose(), "s3cret-0123456789");
        for raw in [None, Some(""), Some("  ")] {
            assert_eq!(value_of(var, "/f/s", raw).unwrap_err(), format!("{var}: parameter \"/f/s\" is empty"));
        }
        let stand_in = "not given: set webhook_url (webhook_secret) when this parameter is created or webhook_version (webhook_secret_version) is raised";
        let err = value_of(var, "/f/s", Some(stand_in)).unwrap_err();
        assert!(err.starts_with(&format!("{var}: parameter \"/f/s\" holds the Terraform module's stand-in")), "{err}");
        let module = include_str!("../terraform/main.tf");
        assert!(
            module.contains(&format!("value_kept = \"{STAND_IN} ")),
            "the module's stand-in must start with {STAND_IN:?}"
        );
    }
}
