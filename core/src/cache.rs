//! Redis: the cache and the job queue's store. Keys are namespaced by a prefix
//! so tests (and several deployments) can share one server.

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("Redis request failed: {0}")]
    Backend(#[from] redis::RedisError),
}

impl CacheError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Backend(_) => "cache.backend",
        }
    }
}

#[derive(Clone)]
pub struct Cache {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Cache {
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client.clone()).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.into(),
        })
    }

    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Whether the server persists writes (queued jobs must survive a restart).
    pub async fn persists(&self) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let reply: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query_async(&mut conn)
            .await?;
        Ok(reply.get(1).is_some_and(|v| v == "yes"))
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn.clone();
        Ok(conn.get(self.key(key)).await?)
    }

    pub async fn set_ex(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: () = conn.set_ex(self.key(key), value, ttl_secs).await?;
        Ok(())
    }

    /// Increments a counter that expires `ttl_secs` after its first use;
    /// returns the new count (rate limits, windows).
    pub async fn incr_expiring(&self, key: &str, ttl_secs: i64) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(self.key(key), 1)
            .expire(self.key(key), ttl_secs)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }

    /// Publishes on a channel (already prefixed by the caller via [`Cache::key`]).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.publish(channel, message).await?;
        Ok(())
    }

    /// Messages published on `channel` from now on, on a dedicated
    /// connection (a subscribed connection can do nothing else).
    pub async fn subscribe(
        &self,
        channel: &str,
    ) -> Result<impl futures::Stream<Item = String> + Send + use<>, CacheError> {
        use futures::StreamExt;
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub
            .into_on_message()
            .filter_map(|msg| async move { msg.get_payload::<String>().ok() }))
    }

    pub async fn del(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let _: () = conn.del(self.key(key)).await?;
        Ok(())
    }
}
