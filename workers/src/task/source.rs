//! How a chunk or audio task reads the source: straight from S3 with ranged
//! reads (a presigned URL that GStreamer's HTTP source seeks in), so a chunk
//! fetches only its part of the file, when the container supports seeking
//! over HTTP; otherwise the whole file is downloaded first.

use std::time::Duration;

use vod_core::storage::ObjectStore;
use vod_core::store::tasks::Failure;
use vod_pipeline::chunked::Input;

use super::Step;

/// A presigned URL must outlive the longest chunk encode.
const URL_LIFETIME: Duration = Duration::from_secs(6 * 3600);

pub(super) async fn input(step: &Step<'_>, plan: &vod_plan::Plan) -> Result<Input, Failure> {
    let s = &step.runner.services;
    let key = step.video.source_key.clone().ok_or_else(|| Failure {
        code: "job.no_source".to_owned(),
        message: "the video has no stored source file".to_owned(),
        transient: false,
    })?;
    let storage = |e: vod_core::storage::StorageError| Failure {
        transient: e.is_transient(),
        code: e.code().to_owned(),
        message: e.to_string(),
    };
    if vod_pipeline::chunked::seekable_over_http(&plan.container) {
        let url = s
            .sources
            .presign_get(&key, URL_LIFETIME)
            .await
            .map_err(storage)?;
        return Ok(Input::Url(url));
    }
    let path = step.workdir.join("source");
    step.reporter.set("downloading", 0.0);
    s.sources.get_to_file(&key, &path).await.map_err(storage)?;
    Ok(Input::File(path))
}
