//! One harness for every integration test: it reads the services' addresses
//! from the `VOD_*` environment written by `infra/up.sh`, and gives each test
//! its own PostgreSQL schema, Redis key prefix, MongoDB database and S3 key
//! prefix, so tests run in parallel against one set of servers.
//!
//! A missing service is a test failure, never a skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a panic is the failure report"
)]

pub mod api;
pub mod cloudwatch;
pub mod mediaconvert;
pub mod redis_server;
pub mod worker;

use std::path::{Path, PathBuf};

use clap::Parser;
use uuid::Uuid;
use vod_core::{Services, ServicesConfig, db};

#[derive(Parser)]
struct EnvOnly {
    #[command(flatten)]
    services: ServicesConfig,
}

/// The services configuration from the environment (no CLI flags).
pub fn config_from_env() -> ServicesConfig {
    let cfg = EnvOnly::try_parse_from(["vod-tests"])
        .expect("VOD_* environment variables must parse")
        .services;
    assert!(
        !cfg.s3.access_key_id.is_empty(),
        "VOD_S3_ACCESS_KEY_ID is not set: run `bash infra/up.sh` and `source .state/env` \
         (or run the suite with `bash infra/test.sh`)"
    );
    cfg
}

pub struct TestEnv {
    pub id: String,
    /// The services config, namespaced to this test.
    pub config: ServicesConfig,
    pub services: Services,
}

impl TestEnv {
    /// Creates this test's namespace everywhere, connects and migrates.
    pub async fn start(name: &str) -> Self {
        Self::start_with(name, |_| {}).await
    }

    /// [`TestEnv::start`] against a Redis of the test's own.
    pub async fn start_with_redis(name: &str, redis_url: &str) -> Self {
        Self::start_with(name, |c| {
            c.redis_url = redis_url.parse().expect("a Redis URL");
        })
        .await
    }

    /// [`TestEnv::start`] with `configure` applied to the services config.
    pub async fn start_with(name: &str, configure: impl FnOnce(&mut ServicesConfig)) -> Self {
        let mut config = config_from_env();
        configure(&mut config);
        let short = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("t_{}_{}", sanitize(name), &short[..10]);

        let admin = db::connect(
            config.database_url.expose(),
            None,
            1,
            config.connect_timeout(),
        )
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {}: {e}", config.database_url));
        // `id` is built from [a-z0-9_] only (see `sanitize` and the uuid).
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{id}\"")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;

        config.database_schema = Some(id.clone());
        config.redis_prefix = format!("{id}:");
        config.mongodb_database = id.clone();
        let services = Services::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        db::migrate(&services.db).await.unwrap();
        Self {
            id,
            config,
            services,
        }
    }

    pub fn playback(&self) -> vod_core::PlaybackConfig {
        vod_core::PlaybackConfig {
            cdn_base_url: "http://127.0.0.1:8080/cdn".to_owned(),
        }
    }

    /// Creates a video whose source is `file`, stored in the sources bucket.
    pub async fn video_with_source(&self, title: &str, file: &Path) -> Uuid {
        use vod_core::storage::ObjectStore;
        let id = Uuid::now_v7();
        db::insert_video(
            &self.services.db,
            &db::NewVideo {
                id,
                title,
                description: "",
                tags: &[],
            },
        )
        .await
        .unwrap();
        let key = format!("sources/{id}/source");
        let bytes = self
            .services
            .sources
            .put_file(&key, file, None)
            .await
            .unwrap();
        sqlx::query("UPDATE videos SET source_key = $2, source_bytes = $3 WHERE id = $1")
            .bind(id)
            .bind(&key)
            .bind(i64::try_from(bytes).unwrap())
            .execute(&self.services.db)
            .await
            .unwrap();
        id
    }

    /// An S3 key inside this test's prefix.
    pub fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.id)
    }

    /// Removes everything this test created. Called at the end of a passing
    /// test; a failing one leaves its data behind for inspection.
    pub async fn cleanup(self) {
        use vod_core::storage::ObjectStore;
        let s = &self.services;
        for store in [&s.sources, &s.outputs] {
            for obj in store.list(&format!("{}/", self.id)).await.unwrap() {
                store.delete(&obj.key).await.unwrap();
            }
        }
        s.catalog.drop_database().await.unwrap();
        // Through the retrying helper: a test may have restarted its Redis.
        let conn = s.cache.connection();
        let pattern = format!("{}*", self.config.redis_prefix);
        let keys: Vec<String> = vod_core::cache::retrying(&conn, |mut c| {
            let cmd = redis::cmd("KEYS").arg(&pattern).clone();
            async move { cmd.query_async(&mut c).await }
        })
        .await
        .unwrap();
        if !keys.is_empty() {
            let _: () = vod_core::cache::retrying(&conn, |mut c| {
                let cmd = redis::cmd("DEL").arg(&keys).clone();
                async move { cmd.query_async(&mut c).await }
            })
            .await
            .unwrap();
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{}\" CASCADE",
            self.id
        )))
        .execute(&s.db)
        .await
        .unwrap();
        s.db.close().await;
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect()
}

/// A synthetic clip made with GStreamer's test sources (H.264 + AAC in MP4).
pub fn make_clip(
    dir: &Path,
    name: &str,
    seconds: u32,
    width: u32,
    height: u32,
    audio: bool,
) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    let frames = seconds * 25;
    let mut desc = format!(
        "videotestsrc num-buffers={frames} pattern=smpte horizontal-speed=3 \
         ! video/x-raw,width={width},height={height},framerate=25/1 \
         ! x264enc speed-preset=ultrafast key-int-max=50 ! h264parse ! queue ! mp4mux name=mux \
         ! filesink location={}",
        path.display()
    );
    if audio {
        let buffers = seconds * 48000 / 1024;
        desc.push_str(&format!(
            " audiotestsrc num-buffers={buffers} samplesperbuffer=1024 \
             ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! avenc_aac ! aacparse ! queue ! mux."
        ));
    }
    let status = std::process::Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("-e")
        .args(desc.split_whitespace())
        .status()
        .expect("gst-launch-1.0 must be installed (infra/up.sh installs it)");
    assert!(status.success(), "generating {name} failed");
    path
}
