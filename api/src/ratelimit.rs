//! Per-token rate limit on write requests, in Redis so every API replica
//! shares the count. A fixed one-minute window: simple, and a burst at a
//! window edge is at most twice the limit, which is fine for abuse control.

use axum::http::Method;
use chrono::Utc;

use crate::auth::Principal;
use crate::cli::RateLimitFallback;
use crate::{ApiError, AppState};

/// Counts this request against the principal's window; 429 over the limit.
pub async fn check(state: &AppState, who: &Principal, method: &Method) -> Result<(), ApiError> {
    let limit = state.config.rate_limit_writes_per_minute;
    if limit == 0 || matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let now = Utc::now().timestamp();
    let window = now / 60;
    let subject = who
        .token_id
        .map_or_else(|| format!("name:{}", who.name), |id| id.to_string());
    let key = format!("ratelimit:{subject}:{window}");
    let count = state.services.cache.incr_expiring(&key, 120).await;
    match count {
        Ok(n) if n > u64::from(limit) => Err(ApiError::RateLimited {
            limit,
            retry_after: u64::try_from(60 - now % 60).unwrap_or(60),
        }),
        Ok(_) => Ok(()),
        // The cache already tried again on a new connection (a restart or a
        // failover); Redis is really down. Written policy, see the config.
        Err(e) => {
            let decision = state.config.rate_limit_when_redis_down;
            metrics::counter!("vod_ratelimit_unavailable_total", "decision" => decision.as_str())
                .increment(1);
            tracing::warn!(code = e.code(), error = %e, decision = decision.as_str(),
                "rate limit cannot reach Redis");
            match decision {
                RateLimitFallback::Allow => Ok(()),
                RateLimitFallback::Refuse => Err(ApiError::ServiceUnavailable {
                    code: "ratelimit.unavailable",
                    message: "write requests are refused while the rate limiter cannot reach \
                              Redis; retry shortly (VOD_RATE_LIMIT_WHEN_REDIS_DOWN=allow lets \
                              them through unchecked)"
                        .to_owned(),
                    retry_after: 5,
                }),
            }
        }
    }
}
