//! Webhook events, recorded in the transaction that makes the change they
//! announce (an outbox): the event exists exactly when the change does. The
//! workers' dispatcher delivers them.

use serde_json::Value;
use uuid::Uuid;

/// Records one delivery per active webhook subscribed to `event`.
pub async fn enqueue_event<'e>(
    db: impl sqlx::PgExecutor<'e>,
    event: &str,
    data: Value,
) -> Result<u64, sqlx::Error> {
    let id = Uuid::now_v7();
    let payload = serde_json::json!({
        "id": id,
        "type": event,
        "created_at": chrono::Utc::now().to_rfc3339(),
        "data": data,
    });
    let done = sqlx::query(
        "INSERT INTO webhook_deliveries (id, webhook_id, event, payload)
         SELECT gen_random_uuid(), w.id, $1, $2 FROM webhooks w WHERE w.active AND $1 = ANY (w.events)",
    )
    .bind(event)
    .bind(payload)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
