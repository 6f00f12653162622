//! Rate limits for the requests that change things (POST, PATCH, DELETE), per client (see
//! `client.rs`), with tower_governor: past the burst, `429` with `Retry-After` and a JSON body.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use governor::middleware::NoOpMiddleware;
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

use crate::client::ClientKey;
use crate::{ApiError, Config};

/// The request's [`ClientKey`], given the trusted proxies.
#[derive(Debug, Clone)]
pub(crate) struct ByClient {
    trusted: Arc<[ipnet::IpNet]>,
}

impl KeyExtractor for ByClient {
    type Key = ClientKey;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(ClientKey::of(request.extensions(), request.headers(), &self.trusted))
    }
}

/// The limiter's settings and state, shared by the layer and the clean-up task.
pub(crate) type Limits =
    Arc<GovernorConfig<ByClient, NoOpMiddleware<governor::clock::QuantaInstant>>>;

/// Limits from the flags: `--rate-burst` requests at once, then one every
/// `1 / --rate-per-second` seconds.
pub(crate) fn limits(config: &Config) -> Limits {
    let mut builder = GovernorConfigBuilder::default()
        .key_extractor(ByClient { trusted: config.trusted_proxies.clone().into() });
    builder.period(Duration::from_secs(1) / config.rate_per_second).burst_size(config.rate_burst);
    Arc::new(
        builder.finish().unwrap_or_else(|| unreachable!("flags keep the rate and burst above 0")),
    )
}

/// The layer, answering refusals with [`ApiError::TooManyRequests`].
pub(crate) fn layer(
    limits: &Limits,
) -> GovernorLayer<ByClient, NoOpMiddleware<governor::clock::QuantaInstant>, Body> {
    GovernorLayer::new(Arc::clone(limits)).error_handler(|error| -> Response<Body> {
        match error {
            GovernorError::TooManyRequests { wait_time, .. } => {
                ApiError::TooManyRequests { retry_after_secs: wait_time.max(1) }.into_response()
            }
            other => ApiError::Internal(format!("rate limiter: {other}")).into_response(),
        }
    })
}

/// Forgets idle clients now and then, so the limiter's memory follows the active clients only.
pub(crate) async fn clean_up(limits: Limits) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        limits.limiter().retain_recent();
    }
}
