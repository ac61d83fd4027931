//! PostgreSQL: pool, migrations and the video records (the record of truth).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, migrate::Migrator};
use uuid::Uuid;

/// Migrations are compiled in, so a deployed binary needs no files next to it.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl DbError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Query(_) => "db.query",
            Self::Migrate(_) => "db.migrate",
        }
    }
}

/// A pool whose connections use `schema` as their search path, when given.
/// Tests use their own schema each; production uses the default (`public`).
pub async fn connect(
    url: &str,
    schema: Option<&str>,
    max_connections: u32,
    timeout: Duration,
) -> Result<PgPool, DbError> {
    let mut options: PgConnectOptions = url.parse()?;
    if let Some(schema) = schema {
        options = options.options([("search_path", schema)]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(timeout)
        .connect_with(options)
        .await?)
}

pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Video {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub status: crate::store::VideoStatus,
    /// `public` or `private` (played only through signed CDN URLs or cookies).
    pub visibility: String,
    pub source_key: Option<String>,
    pub source_bytes: Option<i64>,
    pub output_prefix: Option<String>,
    pub duration_ms: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who may play a video: anyone with its URLs, or only holders of a signed
/// URL or signed cookies (see `cdn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            _ => None,
        }
    }
}

impl Video {
    /// Unknown values (a newer schema) count as private: failing closed.
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::Private)
    }
}

#[derive(Debug, Clone)]
pub struct NewVideo<'a> {
    pub id: Uuid,
    pub title: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
}

pub async fn insert_video(pool: &PgPool, new: &NewVideo<'_>) -> Result<Video, DbError> {
    Ok(sqlx::query_as::<_, Video>(
        "INSERT INTO videos (id, title, description, tags) VALUES ($1, $2, $3, $4) RETURNING *",
    )
    .bind(new.id)
    .bind(new.title)
    .bind(new.description)
    .bind(new.tags)
    .fetch_one(pool)
    .await?)
}

pub async fn get_video(pool: &PgPool, id: Uuid) -> Result<Option<Video>, DbError> {
    Ok(
        sqlx::query_as::<_, Video>("SELECT * FROM videos WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

pub async fn set_video_status(
    pool: &PgPool,
    id: Uuid,
    status: crate::store::VideoStatus,
) -> Result<(), DbError> {
    sqlx::query("UPDATE videos SET status = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await?;
    Ok(())
}
