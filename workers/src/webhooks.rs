//! Webhooks: signed JSON events for `video.ready` and `video.failed`,
//! delivered from a durable outbox (`webhook_deliveries`) with retries and
//! exponential backoff, so a receiver that is down loses nothing.
//!
//! Signature: `X-Vod-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
//! keyed with the webhook's secret. Including the timestamp lets receivers
//! reject replays.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

/// Attempts before a delivery is given up (about 2 hours of backoff in all).
pub const MAX_ATTEMPTS: i32 = 10;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Events are recorded by the store, in the transaction of the change they
/// announce (`vod_core::store::outbox`); this module delivers them.
pub use vod_core::store::outbox::enqueue_event;

#[derive(sqlx::FromRow)]
struct Due {
    id: Uuid,
    event: String,
    payload: Value,
    attempts: i32,
    url: String,
    secret: String,
}

/// Delivers due events until `shutdown` flips. Several workers may run it:
/// rows are claimed with SKIP LOCKED and pushed into the future while in flight.
pub async fn dispatch_loop(db: PgPool, mut shutdown: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook HTTP client unavailable; deliveries stay queued");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if let Err(e) = dispatch_due(&db, &client).await {
            tracing::warn!(error = %e, "webhook dispatch round failed");
        }
    }
}

async fn dispatch_due(db: &PgPool, client: &reqwest::Client) -> Result<(), sqlx::Error> {
    // Lease the rows for a minute so a crash mid-request retries them later.
    let due: Vec<Due> = sqlx::query_as(
        "UPDATE webhook_deliveries d SET next_attempt_at = now() + interval '60 seconds'
         FROM webhooks w
         WHERE d.webhook_id = w.id AND d.id IN (
             SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT 16 FOR UPDATE SKIP LOCKED)
         RETURNING d.id, d.event, d.payload, d.attempts, w.url, w.secret",
    )
    .fetch_all(db)
    .await?;
    for d in due {
        let (status, error) = deliver(client, &d).await;
        let attempts = d.attempts + 1;
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let state = if delivered {
            "delivered"
        } else if attempts >= MAX_ATTEMPTS {
            "failed"
        } else {
            "pending"
        };
        let retry_in =
            crate::task::backoff(attempts, Duration::from_secs(1), Duration::from_secs(1800));
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = $3, last_status_code = $4, last_error = $5,
                 delivered_at = CASE WHEN $2 = 'delivered' THEN now() END,
                 next_attempt_at = now() + make_interval(secs => $6)
             WHERE id = $1",
        )
        .bind(d.id)
        .bind(state)
        .bind(attempts)
        .bind(status)
        .bind(error.as_deref())
        .bind(retry_in.as_secs_f64())
        .execute(db)
        .await?;
        tracing::info!(delivery = %d.id, event = %d.event, state, attempts, status, "webhook delivery");
    }
    Ok(())
}

async fn deliver(client: &reqwest::Client, d: &Due) -> (Option<i32>, Option<String>) {
    let body = match serde_json::to_vec(&d.payload) {
        Ok(b) => b,
        Err(e) => return (None, Some(e.to_string())),
    };
    let timestamp = chrono::Utc::now().timestamp();
    let sent = client
        .post(&d.url)
        .header("content-type", "application/json")
        .header("x-vod-event", &d.event)
        .header("x-vod-delivery", d.id.to_string())
        .header("x-vod-signature", sign(&d.secret, timestamp, &body))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let code = i32::from(resp.status().as_u16());
            let err = (!resp.status().is_success()).then(|| format!("HTTP {code}"));
            (Some(code), err)
        }
        Err(e) => (None, Some(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
        assert_eq!(
            sign("s3cret", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
        );
    }
}
