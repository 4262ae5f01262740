use super::{Store, StoreError};

impl Store {
    /// Stores a verified webhook body once per event id. Returns whether it was new: Fingerprint
    /// retries deliveries, so a duplicate is normal and not an error.
    pub async fn store_webhook(
        &self,
        event_id: &str,
        body: &str,
        received_at: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO webhook_events (event_id, body, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(body)
        .bind(received_at)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// How many webhook events are stored.
    pub async fn count_webhooks(&self) -> Result<i64, StoreError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_events")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
