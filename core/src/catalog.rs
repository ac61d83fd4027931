//! The MongoDB search catalog: one document per video, derived from
//! PostgreSQL, queried through a text index over title, description and tags.

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::{ClientOptions, FindOptions, IndexOptions, ReplaceOptions};
use mongodb::{Client, Collection, IndexModel};
use serde::{Deserialize, Serialize};

pub const COLLECTION: &str = "videos";
/// Bookkeeping documents (index versions), kept apart from the entries.
pub const META_COLLECTION: &str = "catalog_meta";

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog URL is invalid: {0}")]
    Config(String),
    #[error("catalog request {op} failed: {source}")]
    Backend {
        op: &'static str,
        #[source]
        source: mongodb::error::Error,
    },
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "catalog.config",
            Self::Backend { .. } => "catalog.backend",
        }
    }
}

fn backend(op: &'static str) -> impl FnOnce(mongodb::error::Error) -> CatalogError {
    move |source| CatalogError::Backend { op, source }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRendition {
    pub name: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub bandwidth: u64,
    pub codecs: String,
}

/// The catalog document. `_id` is the video id as a string and is always
/// written explicitly: some wire-compatible servers ignore the filter's `_id`
/// on replace-with-upsert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    #[serde(rename = "_id")]
    pub id: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub status: String,
    pub duration_s: Option<f64>,
    pub playback_url: Option<String>,
    pub poster_url: Option<String>,
    pub storyboard_url: Option<String>,
    pub renditions: Vec<CatalogRendition>,
    /// RFC 3339; a string keeps the document portable across servers.
    pub updated_at: String,
}

#[derive(Debug, Clone)]
pub struct MongoCatalog {
    client: Client,
    entries: Collection<CatalogEntry>,
}

impl MongoCatalog {
    pub async fn connect(
        url: &str,
        database: &str,
        timeout: Duration,
    ) -> Result<Self, CatalogError> {
        let mut options = ClientOptions::parse(url)
            .await
            .map_err(|e| CatalogError::Config(e.to_string()))?;
        options.connect_timeout = Some(timeout);
        options.server_selection_timeout = Some(timeout);
        options.app_name = Some("vod".to_owned());
        let client =
            Client::with_options(options).map_err(|e| CatalogError::Config(e.to_string()))?;
        let entries = client.database(database).collection(COLLECTION);
        Ok(Self { client, entries })
    }

    pub async fn ping(&self) -> Result<(), CatalogError> {
        self.entries
            .client()
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(backend("ping"))?;
        Ok(())
    }

    /// Creates the catalog's indexes once per database. A marker document
    /// records the index version, like a migration: MongoDB treats a repeated
    /// `createIndexes` as a no-op, but nx-27017 fails it ("constraint
    /// failed") once the collection holds documents, and does not list text
    /// indexes, so asking the server is not reliable.
    pub async fn ensure_indexes(&self) -> Result<(), CatalogError> {
        const INDEX_VERSION: i32 = 1;
        let meta = self
            .client
            .database(&self.entries.namespace().db)
            .collection::<mongodb::bson::Document>(META_COLLECTION);
        let marker = meta
            .find_one(doc! { "_id": "indexes" })
            .await
            .map_err(backend("find_one"))?;
        if marker.and_then(|m| m.get_i32("version").ok()) >= Some(INDEX_VERSION) {
            return Ok(());
        }
        let text = IndexModel::builder()
            .keys(doc! { "title": "text", "description": "text", "tags": "text" })
            .options(
                IndexOptions::builder()
                    .name("videos_text".to_owned())
                    .weights(doc! { "title": 10, "tags": 5, "description": 1 })
                    .build(),
            )
            .build();
        self.entries
            .create_index(text)
            .await
            .map_err(backend("create_index"))?;
        meta.replace_one(
            doc! { "_id": "indexes" },
            doc! { "_id": "indexes", "version": INDEX_VERSION },
        )
        .with_options(ReplaceOptions::builder().upsert(true).build())
        .await
        .map_err(backend("replace_one"))?;
        Ok(())
    }

    /// Insert or replace the entry for a video (registration is idempotent).
    pub async fn upsert(&self, entry: &CatalogEntry) -> Result<(), CatalogError> {
        self.entries
            .replace_one(doc! { "_id": &entry.id }, entry)
            .with_options(ReplaceOptions::builder().upsert(true).build())
            .await
            .map_err(backend("replace_one"))?;
        Ok(())
    }

    pub async fn get(&self, id: &str) -> Result<Option<CatalogEntry>, CatalogError> {
        self.entries
            .find_one(doc! { "_id": id })
            .await
            .map_err(backend("find_one"))
    }

    /// Full-text search, best matches first.
    pub async fn search(&self, query: &str, limit: i64) -> Result<Vec<CatalogEntry>, CatalogError> {
        // Sort by textScore without projecting it: MongoDB allows that since
        // 4.4, and nx-27017 turns a `$meta` projection into an inclusion
        // projection that drops every other field.
        let options = FindOptions::builder()
            .sort(doc! { "score": { "$meta": "textScore" } })
            .limit(limit)
            .build();
        let cursor = self
            .entries
            .find(doc! { "$text": { "$search": query } })
            .with_options(options)
            .await
            .map_err(backend("find"))?;
        cursor.try_collect().await.map_err(backend("find.next"))
    }

    pub async fn delete(&self, id: &str) -> Result<(), CatalogError> {
        self.entries
            .delete_one(doc! { "_id": id })
            .await
            .map_err(backend("delete_one"))?;
        Ok(())
    }

    /// Drops the whole catalog database; used by tests on their own database.
    pub async fn drop_database(&self) -> Result<(), CatalogError> {
        let name = self.entries.namespace().db;
        self.client
            .database(&name)
            .drop()
            .await
            .map_err(backend("drop_database"))
    }
}
