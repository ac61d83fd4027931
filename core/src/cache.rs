//! Redis: the cache and the job queue's store. Keys are namespaced by a prefix
//! so tests (and several deployments) can share one server.
//!
//! Every Redis connection of the platform (cache, apalis queue, pub/sub)
//! comes from the one [`redis_client`], so a `rediss://` URL and the CA file
//! apply to all of them.

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("Redis request failed: {0}")]
    Backend(#[from] redis::RedisError),
    /// The first connection failed. Reported on its own, with the TLS hint,
    /// because the connection manager would otherwise retry until the
    /// start-up timeout and hide the reason.
    #[error("cannot connect to Redis: {source}{hint}")]
    Connect {
        source: redis::RedisError,
        hint: &'static str,
    },
}

impl CacheError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Backend(_) => "cache.backend",
            Self::Connect { .. } => "cache.connect",
        }
    }
}

const TLS_HINT: &str = "; TLS (rediss://): the server certificate must chain to \
    VOD_REDIS_CA_FILE when it is set, else to the public web PKI roots, and name the URL's host";

/// Whether `url` asks for TLS (`rediss://`).
pub fn is_tls_url(url: &str) -> bool {
    url.get(..9)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("rediss://"))
}

/// A client for `url`. For `rediss://` the server certificate is checked
/// against `ca_pem` when given (self-hosted and test servers), else against
/// the web PKI roots compiled in (Amazon's for ElastiCache).
pub fn redis_client(url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, CacheError> {
    if !is_tls_url(url) {
        return Ok(redis::Client::open(url)?);
    }
    // Both rustls back-ends are in the dependency graph (sqlx uses ring, the
    // AWS SDK aws-lc-rs), so redis' `ClientConfig::builder()` needs a
    // process default. An already installed one is kept.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match ca_pem {
        None => Ok(redis::Client::open(url)?),
        Some(pem) => Ok(redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        )?),
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
    pub async fn connect(
        client: redis::Client,
        prefix: impl Into<String>,
    ) -> Result<Self, CacheError> {
        let tls = matches!(
            client.get_connection_info().addr(),
            redis::ConnectionAddr::TcpTls { .. }
        );
        // One attempt without the manager's retries first: its error
        // (refused, TLS handshake, auth) is the one worth reporting.
        client
            .get_multiplexed_async_connection()
            .await
            .map_err(|source| CacheError::Connect {
                source,
                hint: if tls { TLS_HINT } else { "" },
            })?;
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
