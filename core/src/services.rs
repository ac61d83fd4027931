//! Connecting to every backing service at start-up, and checking them for
//! `/readyz`. A missing service fails start-up with its name, where we looked
//! and how to start it.

use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::PgPool;

use crate::cache::{Cache, redis_client};
use crate::catalog::MongoCatalog;
use crate::config::{ConfigError, ServicesConfig};
use crate::db;
use crate::jobs::{JobQueue, QueueSettings};
use crate::storage::S3Store;

const HINT: &str = "start the local services with `bash infra/up.sh` and `source .state/env`";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{service} is unreachable at {target} ({env_var}): {reason}; {HINT}")]
    Unreachable {
        service: &'static str,
        target: String,
        env_var: &'static str,
        reason: String,
    },
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
}

impl StartupError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "startup.service_unreachable",
            Self::Config(e) => e.code(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Services {
    pub db: PgPool,
    pub cache: Cache,
    pub sources: S3Store,
    pub outputs: S3Store,
    pub catalog: MongoCatalog,
    pub jobs: JobQueue,
}

async fn within<T, E: std::fmt::Display>(
    timeout: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

impl Services {
    /// Connects to PostgreSQL, Redis, S3 (both buckets) and MongoDB, in that
    /// order, and fails on the first one that does not answer. S3 uses the
    /// AWS default credential chain when no static keys are configured.
    pub async fn connect(cfg: &ServicesConfig) -> Result<Self, StartupError> {
        Self::connect_with(cfg, crate::aws::default_loader()).await
    }

    /// [`Services::connect`] with the AWS settings loaded by `aws` (tests
    /// inject an environment into the default chain this way).
    pub async fn connect_with(
        cfg: &ServicesConfig,
        aws: crate::aws::ConfigLoader,
    ) -> Result<Self, StartupError> {
        cfg.validate()?;
        let redis_ca = cfg.redis_ca_pem()?;
        let t = cfg.connect_timeout();
        let db = within(
            t,
            db::connect(
                cfg.database_url.expose(),
                cfg.database_schema.as_deref(),
                cfg.database_max_connections,
                t,
            ),
        )
        .await
        .map_err(|reason| StartupError::Unreachable {
            service: "PostgreSQL",
            target: cfg.database_url.redacted(),
            env_var: "VOD_DATABASE_URL",
            reason,
        })?;

        let redis_err = |reason| StartupError::Unreachable {
            service: "Redis",
            target: cfg.redis_url.redacted(),
            env_var: "VOD_REDIS_URL",
            reason,
        };
        let client = redis_client(cfg.redis_url.expose(), redis_ca.as_deref())
            .map_err(|e| redis_err(e.to_string()))?;
        let cache = within(t, Cache::connect(client, cfg.redis_prefix.clone()))
            .await
            .map_err(redis_err)?;
        within(t, cache.ping()).await.map_err(redis_err)?;

        let client = S3Store::client_with(&cfg.s3, t, aws).await?;
        let s3_target = cfg
            .s3
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS S3 ({})", cfg.s3.region));
        let sources = S3Store::new(client.clone(), cfg.s3.sources_bucket.clone());
        let outputs = S3Store::new(client, cfg.s3.outputs_bucket.clone());
        for store in [&sources, &outputs] {
            within(t, store.check_bucket())
                .await
                .map_err(|reason| StartupError::Unreachable {
                    service: "S3 object store",
                    target: format!("{s3_target}, bucket {}", store.bucket()),
                    env_var: "VOD_S3_ENDPOINT",
                    reason,
                })?;
        }

        let mongo_err = |reason| StartupError::Unreachable {
            service: "MongoDB catalog",
            target: cfg.mongodb_url.redacted(),
            env_var: "VOD_MONGODB_URL",
            reason,
        };
        let database = &cfg.mongodb_database;
        let catalog = within(
            t,
            MongoCatalog::connect(cfg.mongodb_url.expose(), database, t),
        )
        .await
        .map_err(mongo_err)?;
        within(t, catalog.ping()).await.map_err(mongo_err)?;

        let jobs = JobQueue::new(
            cache.connection(),
            QueueSettings {
                prefix: cfg.redis_prefix.clone(),
                ..QueueSettings::default()
            },
        );
        Ok(Self {
            db,
            jobs,
            cache,
            sources,
            outputs,
            catalog,
        })
    }

    /// Checks every dependency concurrently; used by `/readyz`.
    pub async fn readiness(&self, timeout: Duration) -> Vec<DependencyStatus> {
        let pg = async {
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(&self.db)
                .await
                .map(|_| ())
        };
        let (pg, redis, src, out, mongo) = tokio::join!(
            check("postgres", timeout, pg),
            check("redis", timeout, self.cache.ping()),
            check("s3_sources", timeout, self.sources.check_bucket()),
            check("s3_outputs", timeout, self.outputs.check_bucket()),
            check("mongodb", timeout, self.catalog.ping()),
        );
        vec![pg, redis, src, out, mongo]
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DependencyStatus {
    pub name: &'static str,
    pub ok: bool,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

async fn check<E: std::fmt::Display>(
    name: &'static str,
    timeout: Duration,
    fut: impl Future<Output = Result<(), E>>,
) -> DependencyStatus {
    let started = Instant::now();
    let result = within(timeout, fut).await;
    DependencyStatus {
        name,
        ok: result.is_ok(),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error: result.err(),
    }
}
