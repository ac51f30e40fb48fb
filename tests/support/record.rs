//! The function's clients, with every ChangeResourceRecordSets request they send recorded as IAM
//! would see it (zone, and each change's action, normalised name and type).

use std::sync::{Arc, Mutex};

use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_types::config_bag::ConfigBag;
use dynamic_dns_updater::clients::Clients;

use super::iam::{Item, Request};

#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Request>>>);

impl Recorder {
    /// The requests recorded since the last call.
    pub fn take(&self) -> Vec<Request> {
        std::mem::take(&mut self.0.lock().unwrap())
    }

    /// `sdk`'s clients, recording through this recorder.
    pub fn clients(&self, sdk: &aws_config::SdkConfig) -> Clients {
        Clients::from_configs(
            sdk.into(),
            aws_sdk_route53::config::Builder::from(sdk).interceptor(self.clone()),
            sdk.into(),
            sdk.into(),
        )
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(input) = context.input().downcast_ref::<ChangeResourceRecordSetsInput>() else { return Ok(()) };
        let items = input
            .change_batch()
            .map(|b| b.changes())
            .unwrap_or_default()
            .iter()
            .filter_map(|c| {
                let set = c.resource_record_set()?;
                let name = set.name().trim_end_matches('.').to_ascii_lowercase();
                Some(Item { action: c.action().as_str().to_string(), name, rtype: set.r#type().as_str().to_string() })
            })
            .collect();
        let zone = input.hosted_zone_id().unwrap_or_default().trim_start_matches("/hostedzone/").to_string();
        self.0.lock().unwrap().push(Request { zone, items });
        Ok(())
    }
}
