//! Bucket CORS for browser uploads: the admin panel PUTs parts of direct
//! uploads to presigned URLs on the S3 endpoint, a different origin from the
//! page, so the sources bucket must answer the browser's preflight.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};

use super::StorageError;
use super::s3::S3Store;

/// How long a browser may cache the preflight answer.
const PREFLIGHT_MAX_AGE_SECS: i32 = 3600;

/// The one rule the panel needs: PUT (part uploads) and GET/HEAD from the
/// given origins, any request header, and `ETag` readable by the page.
pub fn upload_cors_rule(origins: &[String]) -> Result<CorsRule, StorageError> {
    let invalid = |message: String| StorageError::Backend {
        op: "put_bucket_cors",
        key: String::new(),
        message,
    };
    if origins.is_empty() {
        return Err(invalid("no CORS origin given".into()));
    }
    CorsRule::builder()
        .id("vod-browser-uploads")
        .set_allowed_origins(Some(origins.to_vec()))
        .set_allowed_methods(Some(vec!["PUT".into(), "GET".into(), "HEAD".into()]))
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(PREFLIGHT_MAX_AGE_SECS)
        .build()
        .map_err(|e| invalid(e.to_string()))
}

impl S3Store {
    /// Replaces the bucket's CORS configuration with [`upload_cors_rule`].
    /// Idempotent; called at API start-up when origins are configured.
    pub async fn ensure_upload_cors(&self, origins: &[String]) -> Result<(), StorageError> {
        let rule = upload_cors_rule(origins)?;
        let config = CorsConfiguration::builder()
            .cors_rules(rule)
            .build()
            .map_err(|e| StorageError::Backend {
                op: "put_bucket_cors",
                key: String::new(),
                message: e.to_string(),
            })?;
        self.sdk()
            .put_bucket_cors()
            .bucket(self.bucket())
            .cors_configuration(config)
            .send()
            .await
            .map_err(|e| StorageError::Backend {
                op: "put_bucket_cors",
                key: self.bucket().to_owned(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }

    /// The allowed origins of the bucket's CORS rules (empty when it has none).
    pub async fn cors_origins(&self) -> Result<Vec<String>, StorageError> {
        match self
            .sdk()
            .get_bucket_cors()
            .bucket(self.bucket())
            .send()
            .await
        {
            Ok(out) => Ok(out
                .cors_rules()
                .iter()
                .flat_map(|r| r.allowed_origins().iter().cloned())
                .collect()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                Ok(Vec::new())
            }
            Err(e) => Err(StorageError::Backend {
                op: "get_bucket_cors",
                key: self.bucket().to_owned(),
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_allows_put_and_exposes_etag() {
        let rule = upload_cors_rule(&["*".to_owned()]).unwrap();
        assert!(rule.allowed_methods().contains(&"PUT".to_owned()));
        assert_eq!(rule.expose_headers(), ["ETag"]);
        assert_eq!(rule.allowed_origins(), ["*"]);
        assert!(upload_cors_rule(&[]).is_err());
    }
}
