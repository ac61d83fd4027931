//! A local stand-in for the MediaConvert endpoint that really "runs" jobs,
//! as MediaConvert does against S3: on `CreateJob` it reads the source
//! named by `fileInput` from the sources bucket, encodes it with our own
//! pipeline (a real encoder, so the playlists are genuine), renames the
//! package into MediaConvert's layout (`hls/master_<rung>.m3u8`,
//! `hls/master_<rung>_NNNNN.ts`, frame captures `thumbs/poster.NNNNNNN.jpg`)
//! and writes it to the HLS and frame-capture destinations of the job.
//! `GetJob` reports SUBMITTED → PROGRESSING (TRANSCODING, percent) →
//! COMPLETE, or ERROR when the job's outputs do not match what was encoded.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use m3u8_rs::{MasterPlaylist, MediaPlaylist};
use serde_json::{Value, json};
use vod_core::storage::{ObjectStore, S3Store};

use crate::TestEnv;

pub const ROLE: &str = "arn:aws:iam::111122223333:role/vod-mediaconvert";

#[derive(Debug, Default, Clone)]
pub struct JobState {
    pub id: String,
    /// The CreateJob body as received.
    pub request: Value,
    pub status: &'static str,
    pub percent: i32,
    pub error: Option<(i32, String)>,
    /// The `authorization` header of the CreateJob call.
    pub authorization: String,
}

#[derive(Clone)]
struct Ctx {
    sources: S3Store,
    outputs: S3Store,
    jobs: Arc<Mutex<Vec<JobState>>>,
    /// When set, jobs end in ERROR with this code and message, as
    /// MediaConvert reports a source it cannot read.
    fail_with: Arc<Mutex<Option<(i32, String)>>>,
}

pub struct MediaConvertStandIn {
    pub url: String,
    jobs: Arc<Mutex<Vec<JobState>>>,
    fail_with: Arc<Mutex<Option<(i32, String)>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MediaConvertStandIn {
    pub async fn start(env: &TestEnv) -> Self {
        let jobs: Arc<Mutex<Vec<JobState>>> = Arc::default();
        let fail_with: Arc<Mutex<Option<(i32, String)>>> = Arc::default();
        let ctx = Ctx {
            sources: env.services.sources.clone(),
            outputs: env.services.outputs.clone(),
            jobs: jobs.clone(),
            fail_with: fail_with.clone(),
        };
        let app = Router::new()
            .route("/2017-08-29/jobs", post(create))
            .route("/2017-08-29/jobs/{id}", get(get_job))
            .with_state(ctx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            jobs,
            fail_with,
        }
    }

    /// Every following job ends in ERROR with `code` and `message`.
    pub fn fail_jobs_with(&self, code: i32, message: &str) {
        *lock(&self.fail_with) = Some((code, message.to_owned()));
    }

    /// A worker backend config pointing at this stand-in.
    pub fn backend_config(&self) -> vod_workers::backend::BackendConfig {
        vod_workers::backend::BackendConfig {
            kind: vod_workers::backend::BackendKind::Mediaconvert,
            mediaconvert: vod_mediaconvert::MediaConvertConfig {
                endpoint: Some(self.url.clone()),
                role_arn: ROLE.into(),
                region: Some("us-east-1".into()),
                poll_ms: 100,
                poll_max_ms: 400,
                max_attempts: 1,
                access_key_id: Some("AKIDSTANDIN".into()),
                secret_access_key: Some(vod_core::Secret::new("stand-in-secret")),
                ..Default::default()
            },
        }
    }

    pub fn jobs(&self) -> Vec<JobState> {
        lock(&self.jobs).clone()
    }
}

async fn create(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = format!("1700000000000-{:06}", lock(&ctx.jobs).len() + 1);
    let job = JobState {
        id: id.clone(),
        request: request.clone(),
        status: "SUBMITTED",
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        ..Default::default()
    };
    lock(&ctx.jobs).push(job);
    tokio::spawn(run_job(ctx, id.clone(), request.clone()));
    let answer = json!({ "job": {
        "id": id, "role": request["role"], "settings": request["settings"],
        "status": "SUBMITTED", "createdAt": 1_700_000_000,
    }});
    (axum::http::StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn get_job(State(ctx): State<Ctx>, Path(id): Path<String>) -> Response {
    let Some(job) = lock(&ctx.jobs).iter().find(|j| j.id == id).cloned() else {
        return (
            axum::http::StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "NotFoundException")],
            axum::Json(json!({ "message": format!("no job {id}") })),
        )
            .into_response();
    };
    let mut body = json!({
        "id": job.id, "role": job.request["role"], "settings": job.request["settings"],
        "status": job.status, "createdAt": 1_700_000_000,
    });
    if job.status == "PROGRESSING" {
        body["currentPhase"] = json!("TRANSCODING");
        body["jobPercentComplete"] = json!(job.percent);
    }
    if let Some((code, message)) = job.error {
        body["errorCode"] = json!(code);
        body["errorMessage"] = json!(message);
    }
    axum::Json(json!({ "job": body })).into_response()
}

fn update(ctx: &Ctx, id: &str, f: impl FnOnce(&mut JobState)) {
    if let Some(j) = lock(&ctx.jobs).iter_mut().find(|j| j.id == id) {
        f(j);
    }
}

async fn run_job(ctx: Ctx, id: String, request: Value) {
    let scripted = lock(&ctx.fail_with).clone();
    let result = match scripted {
        Some(failure) => Err(failure),
        None => encode_and_write(&ctx, &id, &request)
            .await
            .map_err(|message| (1999, message)),
    };
    update(&ctx, &id, |j| match result {
        Ok(()) => j.status = "COMPLETE",
        Err(failure) => {
            j.status = "ERROR";
            j.error = Some(failure);
        }
    });
}

/// `s3://bucket/key` → key, when the bucket is the store's.
fn key_in(store: &S3Store, uri: &str) -> Result<String, String> {
    uri.strip_prefix(&format!("s3://{}/", store.bucket()))
        .map(str::to_owned)
        .ok_or_else(|| format!("{uri} is not in bucket {}", store.bucket()))
}

async fn encode_and_write(ctx: &Ctx, id: &str, req: &Value) -> Result<(), String> {
    let settings = &req["settings"];
    let source = key_in(
        &ctx.sources,
        settings["inputs"][0]["fileInput"].as_str().unwrap_or(""),
    )?;
    let work = std::env::temp_dir().join(format!("vod-mc-standin-{id}-{}", std::process::id()));
    let (input, out) = (work.join("source"), work.join("out"));
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    ctx.sources
        .get_to_file(&source, &input)
        .await
        .map_err(|e| e.to_string())?;
    update(ctx, id, |j| j.status = "PROGRESSING");
    let (progress_ctx, progress_id) = (ctx.clone(), id.to_owned());
    let manifest = tokio::task::spawn_blocking(move || {
        vod_pipeline::transcode(&input, &out, &vod_pipeline::Settings::default(), |p| {
            update(&progress_ctx, &progress_id, |j| {
                j.percent = p.percent.min(99.0) as i32
            });
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let out = work.join("out");

    let mut hls_dest = None;
    let mut poster_dest = None;
    for group in settings["outputGroups"].as_array().into_iter().flatten() {
        let gs = &group["outputGroupSettings"];
        match gs["type"].as_str() {
            Some("HLS_GROUP_SETTINGS") => {
                let dest = gs["hlsGroupSettings"]["destination"].as_str().unwrap_or("");
                let names: Vec<String> = group["outputs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| {
                        o["nameModifier"]
                            .as_str()?
                            .strip_prefix('_')
                            .map(str::to_owned)
                    })
                    .collect();
                hls_dest = Some((key_in(&ctx.outputs, dest)?, names));
            }
            Some("FILE_GROUP_SETTINGS") => {
                let dest = gs["fileGroupSettings"]["destination"]
                    .as_str()
                    .unwrap_or("");
                poster_dest = Some(key_in(&ctx.outputs, dest)?);
            }
            other => return Err(format!("unexpected output group {other:?}")),
        }
    }
    let (base, names) = hls_dest.ok_or("no HLS output group")?;
    let produced: Vec<&str> = manifest
        .video
        .iter()
        .chain(manifest.audio.iter())
        .map(|r| r.name.as_str())
        .collect();
    if names != produced {
        return Err(format!(
            "job outputs {names:?} do not match the encoded ladder {produced:?}"
        ));
    }
    let put = |key: String, body: Vec<u8>| async move {
        ctx.outputs
            .put_bytes(
                &key,
                body.into(),
                Some(vod_core::storage::content_type_for(&key)),
            )
            .await
            .map_err(|e| e.to_string())
    };
    let read = |rel: &str| std::fs::read(out.join(rel)).map_err(|e| format!("{rel}: {e}"));
    // Media playlists and segments, renamed as MediaConvert names them.
    for name in &names {
        let text = read(&format!("hls/{name}/index.m3u8"))?;
        let mut media: MediaPlaylist =
            m3u8_rs::parse_media_playlist_res(&text).map_err(|e| e.to_string())?;
        for (i, seg) in media.segments.iter_mut().enumerate() {
            let renamed = format!("master_{name}_{:05}.ts", i + 1);
            put(
                format!("{base}_{name}_{:05}.ts", i + 1),
                read(&format!("hls/{name}/{}", seg.uri))?,
            )
            .await?;
            seg.uri = renamed;
        }
        let mut buf = Vec::new();
        media.write_to(&mut buf).map_err(|e| e.to_string())?;
        put(format!("{base}_{name}.m3u8"), buf).await?;
    }
    if let Some(poster) = poster_dest {
        // The 0 s capture, then the one at the poster time.
        put(
            format!("{poster}.0000000.jpg"),
            read("thumbs/sprite_000.jpg")?,
        )
        .await?;
        put(format!("{poster}.0000001.jpg"), read("thumbs/poster.jpg")?).await?;
    }
    let text = read("hls/master.m3u8")?;
    let mut master: MasterPlaylist =
        m3u8_rs::parse_master_playlist_res(&text).map_err(|e| e.to_string())?;
    let rename = |uri: &str| format!("master_{}.m3u8", uri.trim_end_matches("/index.m3u8"));
    for v in &mut master.variants {
        v.uri = rename(&v.uri);
    }
    for a in &mut master.alternatives {
        a.uri = a.uri.as_deref().map(rename);
    }
    let mut buf = Vec::new();
    master.write_to(&mut buf).map_err(|e| e.to_string())?;
    put(format!("{base}.m3u8"), buf).await?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
