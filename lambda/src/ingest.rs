//! One ingest object into one video, and one manifest into many. The video
//! id is a UUIDv5 of the object version's identity (bucket, key, ETag,
//! version), so every repeated delivery (Lambda retries, S3's at-least-once
//! events, a manifest delivered again or listing an object twice) lands on the same row
//! and the same job.

use uuid::Uuid;
use vod_core::Services;
use vod_core::ingest::{self, MAX_TITLE_CHARS, VideoMeta};
use vod_core::keys::source_key;
use vod_core::sniff::{self, SNIFF_LEN};

use crate::LambdaError;
use crate::config::IngestConfig;
use crate::manifest::{self, Format, Row};
use crate::report::{Accepted, Outcome, Refusal, Report, RowRef};
use crate::source::{self, Head};

/// Fixed namespace of ingest video ids (never change it: ids would change).
pub const VIDEO_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6c1f_5b7e_2a49_4d8e_9f3a_0b6e_7d21_c4a5);

pub fn video_id(identity: &str) -> Uuid {
    Uuid::new_v5(&VIDEO_ID_NAMESPACE, identity.as_bytes())
}

fn reject(key: &str, code: &'static str, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected(Refusal::new(key, code, reason.into()))
}

/// Title, description and tags: the manifest row's, else the object's
/// `x-amz-meta-*`, else the file name as title.
fn metadata(key: &str, head: &Head, row: Option<&Row>) -> Result<VideoMeta, ingest::IngestError> {
    let meta = |name: &str| head.metadata.get(name).map(String::as_str);
    let title = row
        .and_then(|r| r.title.as_deref())
        .or_else(|| meta("title"))
        .map(str::to_owned)
        .unwrap_or_else(|| title_from_key(key));
    let description = row
        .and_then(|r| r.description.as_deref())
        .or_else(|| meta("description"));
    let tags = match row.and_then(|r| r.tags.clone()) {
        Some(tags) => tags.into_vec(),
        None => meta("tags")
            .map(|t| t.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    VideoMeta::new(Some(&title), description, tags)
}

/// `ingest/My Clip.final.mp4` → `My Clip.final`, cut to the title limit.
pub fn title_from_key(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.trim().is_empty() => stem,
        _ => name,
    };
    stem.chars().take(MAX_TITLE_CHARS).collect()
}

/// Turns one ingest object into a video with a queued job. Bad objects are
/// an [`Outcome::Rejected`]; only failures worth retrying are `Err`.
pub async fn object(
    services: &Services,
    cfg: &IngestConfig,
    key: &str,
    row: Option<&Row>,
) -> Result<Outcome, LambdaError> {
    let store = &services.sources;
    if let Err(e) = vod_core::storage::validate_key(key) {
        return Ok(reject(key, "ingest.invalid_key", e.to_string()));
    }
    let Some(head) = source::head(store, key).await? else {
        return Ok(reject(key, "ingest.missing", "the object does not exist"));
    };
    if head.size > cfg.max_source_bytes {
        return Ok(reject(
            key,
            "ingest.too_large",
            format!(
                "the object has {} bytes; the limit is {}",
                head.size, cfg.max_source_bytes
            ),
        ));
    }
    let id = video_id(&head.identity(store.bucket(), key));
    if vod_core::db::get_video(&services.db, id)
        .await
        .map_err(ingest::IngestError::from)?
        .is_some()
    {
        // Queued at most once by its idempotency key; this also finishes a
        // delivery that stopped between the row and the job.
        let (video, job) = ingest::enqueue(services, id).await?;
        let source_key = video.source_key.clone().unwrap_or_default();
        return Ok(Outcome::Duplicate(accepted(
            key, &video, job.id, source_key,
        )));
    }
    let meta = match metadata(key, &head, row) {
        Ok(meta) => meta,
        Err(e) => return Ok(reject(key, "ingest.invalid_metadata", e.to_string())),
    };
    let first = source::read_prefix(store, key, &head, SNIFF_LEN).await?;
    let Some(container) = sniff::sniff(&first) else {
        return Ok(reject(key, "ingest.not_media", sniff::refusal(&first)));
    };
    let file_name = key.rsplit('/').next().unwrap_or(key);
    let dest = source_key(&cfg.source_key_prefix, id, file_name);
    // Same id, same destination: a retry after a crash overwrites, never orphans.
    source::copy(store, key, &dest, &head, cfg).await?;
    let inserted = ingest::insert_video(&services.db, id, &meta, &dest, Some(head.size)).await?;
    let (video, job) = ingest::enqueue(services, id).await?;
    let outcome = accepted(key, &video, job.id, dest);
    if inserted.is_none() {
        // A concurrent delivery of the same object won the insert.
        return Ok(Outcome::Duplicate(outcome));
    }
    tracing::info!(
        video_id = %id,
        job_id = %job.id,
        key,
        bytes = head.size,
        container = container.name(),
        "source ingested"
    );
    Ok(Outcome::Created(outcome))
}

fn accepted(key: &str, video: &vod_core::db::Video, job_id: Uuid, source_key: String) -> Accepted {
    Accepted {
        key: key.to_owned(),
        video_id: video.id,
        job_id,
        title: video.title.clone(),
        source_key,
        from: None,
    }
}

/// Every row of a manifest into the report; a bad row is reported and the
/// others go on. A transient failure stops here (a retry redoes the rows
/// already done as duplicates).
pub async fn manifest(
    services: &Services,
    cfg: &IngestConfig,
    key: &str,
    report: &mut Report,
) -> Result<(), LambdaError> {
    let refuse = |report: &mut Report, code, reason: String| {
        report.rejected.push(Refusal::new(key, code, reason));
    };
    let Some(format) = Format::of(key) else {
        refuse(
            report,
            "ingest.manifest_invalid",
            "not a .json or .csv file".into(),
        );
        return Ok(());
    };
    let store = &services.sources;
    let Some(head) = source::head(store, key).await? else {
        refuse(
            report,
            "ingest.missing",
            "the manifest does not exist".into(),
        );
        return Ok(());
    };
    if head.size > cfg.max_manifest_bytes {
        let reason = format!(
            "the manifest has {} bytes; the limit is {}",
            head.size, cfg.max_manifest_bytes
        );
        refuse(report, "ingest.manifest_too_large", reason);
        return Ok(());
    }
    // Bounded and pinned to the version HEAD measured, whatever replaces it meanwhile.
    let limit = usize::try_from(cfg.max_manifest_bytes).unwrap_or(usize::MAX);
    let bytes = source::read_prefix(store, key, &head, limit).await?;
    let rows = match manifest::parse(format, &bytes) {
        Ok(rows) => rows,
        Err(reason) => {
            refuse(report, "ingest.manifest_invalid", reason);
            return Ok(());
        }
    };
    if rows.len() > cfg.max_manifest_rows {
        let reason = format!(
            "{} rows; the limit is {} per manifest",
            rows.len(),
            cfg.max_manifest_rows
        );
        refuse(report, "ingest.manifest_too_large", reason);
        return Ok(());
    }
    for (i, row) in rows.into_iter().enumerate() {
        let from = Some(RowRef {
            manifest: key.to_owned(),
            row: i + 1,
        });
        let outcome = match row {
            Err(reason) => reject(key, "ingest.manifest_row_invalid", reason),
            Ok(row) => match manifest::resolve(key, &row.key) {
                Ok(object_key) => object(services, cfg, &object_key, Some(&row)).await?,
                Err(reason) => reject(&row.key, "ingest.manifest_row_invalid", reason),
            },
        };
        report.push(outcome, from);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_file_names() {
        assert_eq!(title_from_key("ingest/My Clip.final.mp4"), "My Clip.final");
        assert_eq!(title_from_key("ingest/noext"), "noext");
        assert_eq!(title_from_key("ingest/.mp4"), ".mp4");
        let long = format!("ingest/{}.mp4", "é".repeat(600));
        assert_eq!(title_from_key(&long).chars().count(), MAX_TITLE_CHARS);
    }

    #[test]
    fn ids_are_stable_per_identity() {
        assert_eq!(video_id("a"), video_id("a"));
        assert_ne!(video_id("a"), video_id("b"));
        assert_eq!(video_id("a").get_version_num(), 5);
    }
}
