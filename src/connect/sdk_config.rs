//! The AWS SDK configuration every client of the exporter starts from: the region (given, or
//! the SDK's region chain), the standard credential chain, and an IAM role assumed through
//! STS. Shared by the Connect client and the agent event stream's Kinesis client, so that both
//! find credentials and assume roles the same way.

use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_connect::config::{Credentials, Region, SharedCredentialsProvider};

use super::request::SourceError;

/// Connecting to a service should never take long; a slow connect is a network problem.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Session name for assumed roles, visible in the customer's CloudTrail.
const ROLE_SESSION_NAME: &str = "amazon-connect-exporter";

/// The configuration for `what` (`instance prod`, `stream connect-agent-events`): `region` or
/// the SDK's region chain, `credentials` in place of the credential chain (the demo's static
/// test keys), then `role_arn` assumed with those. Fails when no region is found.
pub(crate) async fn shared_config(
    what: &str,
    region: Option<&str>,
    role_arn: Option<&str>,
    credentials: Option<Credentials>,
) -> Result<SdkConfig, SourceError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_string()));
    }
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    let mut shared = loader.load().await;
    if shared.region().is_none() {
        return Err(SourceError::Setup(format!(
            "{what}: no AWS region; set `region` in the configuration or AWS_REGION in the environment"
        )));
    }
    if let Some(role_arn) = role_arn {
        let provider = AssumeRoleProvider::builder(role_arn.to_string())
            .session_name(ROLE_SESSION_NAME)
            .configure(&shared)
            .build()
            .await;
        shared = shared
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }
    Ok(shared)
}
