//! What one S3 notification record asks for: a pure decision, no I/O.

use aws_lambda_events::event::s3::S3EventRecord;

use crate::config::IngestConfig;
use crate::report::Refusal;

/// Under `<ingest prefix>` + this, `.json`/`.csv` objects are manifests and
/// everything else is media waiting to be listed by one.
pub const BATCH_FOLDER: &str = "batch/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A media object to turn into one video.
    Object(String),
    /// A batch manifest listing objects.
    Manifest(String),
    /// Not ours to handle (counted, never an error).
    Ignore(Refusal),
    /// Ours, but unusable as sent.
    Reject(Refusal),
}

/// S3 event keys are form-encoded: `+` is a space, `%XX` a byte of UTF-8.
pub fn decode_key(raw: &str) -> Option<String> {
    let plus_as_space = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}

pub fn is_manifest_name(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    lower.ends_with(".json") || lower.ends_with(".csv")
}

pub fn classify(record: &S3EventRecord, cfg: &IngestConfig, sources_bucket: &str) -> Decision {
    let raw_key = record.s3.object.key.clone().unwrap_or_default();
    let ignore = |code, reason: String| Decision::Ignore(Refusal::new(&raw_key, code, reason));
    let event = record.event_name.as_deref().unwrap_or_default();
    if !event.starts_with("ObjectCreated:") {
        return ignore(
            "ignored.not_created",
            format!("event {event:?} is not ObjectCreated:*"),
        );
    }
    let bucket = record.s3.bucket.name.as_deref().unwrap_or_default();
    if bucket != sources_bucket {
        return ignore(
            "ignored.other_bucket",
            format!("bucket {bucket:?} is not the sources bucket {sources_bucket:?}"),
        );
    }
    let Some(key) = decode_key(&raw_key) else {
        return Decision::Reject(Refusal::new(
            &raw_key,
            "ingest.invalid_key",
            "the key is not valid percent-encoded UTF-8".to_owned(),
        ));
    };
    let ignore = |code, reason: String| Decision::Ignore(Refusal::new(&key, code, reason));
    let Some(rest) = key.strip_prefix(&cfg.ingest_prefix) else {
        return ignore(
            "ignored.outside_prefix",
            format!(
                "the key is outside the ingest prefix {:?}",
                cfg.ingest_prefix
            ),
        );
    };
    if rest.is_empty() || key.ends_with('/') {
        return ignore("ignored.folder", "a folder marker, not a file".to_owned());
    }
    if rest.starts_with(BATCH_FOLDER) {
        if is_manifest_name(&key) {
            return Decision::Manifest(key);
        }
        return ignore(
            "ignored.batch_payload",
            format!("objects under {BATCH_FOLDER} are ingested when a manifest lists them"),
        );
    }
    Decision::Object(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::s3::S3Event;

    fn record(event: &str, bucket: &str, key: &str) -> S3EventRecord {
        let json = serde_json::json!({
            "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2026-11-24T12:00:00.000Z",
                "eventName": event,
                "userIdentity": {"principalId": "AWS:EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.9"},
                "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ingest",
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A"}, "arn": "arn:aws:s3:::b"},
                    "object": {"key": key, "size": 10, "eTag": "e", "sequencer": "0A"}
                }
            }]
        });
        let mut ev: S3Event = serde_json::from_value(json).unwrap();
        ev.records.remove(0)
    }

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(decode_key("a+b%2Bc.mp4").unwrap(), "a b+c.mp4");
        assert_eq!(
            decode_key("ingest/%C3%89t%C3%A9+%F0%9F%8E%AC.mov").unwrap(),
            "ingest/Été 🎬.mov"
        );
        assert_eq!(decode_key("%FF%FE"), None);
    }

    #[test]
    fn records_are_classified() {
        let cfg = IngestConfig::default();
        let d = |e, b, k| classify(&record(e, b, k), &cfg, "src");
        assert_eq!(
            d("ObjectCreated:Put", "src", "ingest/My+Clip.mp4"),
            Decision::Object("ingest/My Clip.mp4".into())
        );
        assert_eq!(
            d(
                "ObjectCreated:CompleteMultipartUpload",
                "src",
                "ingest/batch/x/list.CSV"
            ),
            Decision::Manifest("ingest/batch/x/list.CSV".into())
        );
        let code = |dec: Decision| match dec {
            Decision::Ignore(r) => format!("ignore {}", r.code),
            Decision::Reject(r) => format!("reject {}", r.code),
            other => format!("{other:?}"),
        };
        let cases = [
            (
                "ObjectRemoved:Delete",
                "src",
                "ingest/a.mp4",
                "ignore ignored.not_created",
            ),
            (
                "ObjectCreated:Put",
                "other",
                "ingest/a.mp4",
                "ignore ignored.other_bucket",
            ),
            (
                "ObjectCreated:Put",
                "src",
                "sources/a.mp4",
                "ignore ignored.outside_prefix",
            ),
            (
                "ObjectCreated:Put",
                "src",
                "ingest/dir/",
                "ignore ignored.folder",
            ),
            (
                "ObjectCreated:Put",
                "src",
                "ingest/batch/a.mp4",
                "ignore ignored.batch_payload",
            ),
            (
                "ObjectCreated:Put",
                "src",
                "ingest/%FF.mp4",
                "reject ingest.invalid_key",
            ),
        ];
        for (event, bucket, key, want) in cases {
            assert_eq!(code(d(event, bucket, key)), want, "{event} {bucket} {key}");
        }
    }
}
