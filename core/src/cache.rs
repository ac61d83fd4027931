//! Redis: the cache and the job queue's store. Keys are namespaced by a prefix
//! so tests (and several deployments) can share one server.
//!
//! Every Redis connection of the platform (cache, apalis queue, pub/sub)
//! comes from the one [`redis_client`], so a `rediss://` URL and the CA file
//! apply to all of them.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RetryMethod};

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
        let conn = ConnectionManager::new_with_config(client.clone(), manager_config()).await?;
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
        retrying(&self.conn, |mut conn| async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await?;
        Ok(())
    }

    /// Whether the server persists writes (queued jobs must survive a restart).
    pub async fn persists(&self) -> Result<bool, CacheError> {
        let reply: Vec<String> = retrying(&self.conn, |mut conn| async move {
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("appendonly")
                .query_async(&mut conn)
                .await
        })
        .await?;
        Ok(reply.get(1).is_some_and(|v| v == "yes"))
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        Ok(retrying(&self.conn, |mut conn| {
            let key = key.clone();
            async move { conn.get(key).await }
        })
        .await?)
    }

    pub async fn set_ex(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), CacheError> {
        let key = self.key(key);
        retrying(&self.conn, |mut conn| {
            let key = key.clone();
            async move { conn.set_ex::<_, _, ()>(key, value, ttl_secs).await }
        })
        .await?;
        Ok(())
    }

    /// Increments a counter that expires `ttl_secs` after its first use;
    /// returns the new count (rate limits, windows). A retry after a dropped
    /// connection may count one request twice, which a limit tolerates.
    pub async fn incr_expiring(&self, key: &str, ttl_secs: i64) -> Result<u64, CacheError> {
        let key = self.key(key);
        let (count,): (u64,) = retrying(&self.conn, |mut conn| {
            let key = key.clone();
            async move {
                redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, ttl_secs)
                    .ignore()
                    .query_async(&mut conn)
                    .await
            }
        })
        .await?;
        Ok(count)
    }

    /// Publishes on a channel (already prefixed by the caller via [`Cache::key`]).
    pub async fn publish(&self, channel: &str, message: &str) -> Result<(), CacheError> {
        retrying(&self.conn, |mut conn| async move {
            conn.publish::<_, _, i64>(channel, message).await
        })
        .await?;
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
        let key = self.key(key);
        retrying(&self.conn, |mut conn| {
            let key = key.clone();
            async move { conn.del::<_, ()>(key).await }
        })
        .await?;
        Ok(())
    }
}

/// Reconnection of the shared connection. The manager reconnects only after
/// a request has failed on the old connection, and every request waits for
/// that reconnection; a few quick tries keep a request against a Redis that
/// is really down from waiting for long (the defaults add up to ~6 s).
fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_number_of_retries(3)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_secs(1))
}

/// How many times a request is sent again after a failure that a new
/// connection or a short wait can cure.
const MAX_RETRIES: usize = 2;

/// Whether `e` is worth another try, and after how long: a dropped or
/// reset connection (a Redis restart or failover; the manager is already
/// reconnecting), or a server still loading its data after a restart.
pub fn retry_delay(e: &redis::RedisError) -> Option<Duration> {
    match e.retry_method() {
        RetryMethod::Reconnect | RetryMethod::RetryImmediately => Some(Duration::from_millis(50)),
        RetryMethod::WaitAndRetry => Some(Duration::from_millis(250)),
        _ if e.is_io_error() => Some(Duration::from_millis(50)),
        _ => None,
    }
}

/// Runs `op` on the shared connection; after a dropped connection it runs
/// it again on the new one, so the first call after a Redis restart
/// succeeds instead of failing. Commands sent here must tolerate being sent
/// twice (a reply lost with its connection hides whether the first ran).
pub async fn retrying<T, F, Fut>(conn: &ConnectionManager, op: F) -> Result<T, redis::RedisError>
where
    F: Fn(ConnectionManager) -> Fut,
    Fut: Future<Output = Result<T, redis::RedisError>>,
{
    let mut tries = 0;
    loop {
        match op(conn.clone()).await {
            Ok(v) => return Ok(v),
            Err(e) => match retry_delay(&e) {
                Some(delay) if tries < MAX_RETRIES => {
                    tries += 1;
                    tracing::debug!(error = %e, tries, "Redis request failed; trying again");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(e),
            },
        }
    }
}
