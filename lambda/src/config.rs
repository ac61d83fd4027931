//! Typed configuration. Lambda passes no arguments, so in practice it all
//! comes from `VOD_*` environment variables (the same names as the API's
//! where the meaning is the same); flags exist only because clap gives them.

use clap::{Args, Parser};
use vod_core::{LogConfig, ServicesConfig};

use crate::LambdaError;

pub const DEFAULT_INGEST_PREFIX: &str = "ingest/";
/// The API's default source size limit, so both doors accept the same files.
pub const DEFAULT_MAX_SOURCE_BYTES: u64 = 20 * 1024 * 1024 * 1024;
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
pub const DEFAULT_MAX_MANIFEST_ROWS: usize = 1000;
/// S3's limit for a single CopyObject.
pub const DEFAULT_SINGLE_COPY_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// 20 GiB in 40 parts; S3 allows 5 MiB to 5 GiB per copied part.
pub const DEFAULT_COPY_PART_BYTES: u64 = 512 * 1024 * 1024;
const MIN_COPY_PART_BYTES: u64 = 5 * 1024 * 1024;

/// What the ingest trigger decides; the services come from [`ServicesConfig`].
#[derive(Debug, Clone, Args)]
pub struct IngestConfig {
    /// Key prefix in the sources bucket that the trigger watches. Media
    /// objects under it become videos; `<prefix>batch/*.json|*.csv` are manifests.
    #[arg(long, env = "VOD_LAMBDA_INGEST_PREFIX", default_value = DEFAULT_INGEST_PREFIX)]
    pub ingest_prefix: String,

    /// Prefix put before `sources/<id>/…` keys (the API's setting).
    #[arg(long, env = "VOD_SOURCE_KEY_PREFIX", default_value = "")]
    pub source_key_prefix: String,

    /// Largest accepted source object, in bytes (the API's setting).
    #[arg(long, env = "VOD_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_SOURCE_BYTES)]
    pub max_source_bytes: u64,

    /// Largest accepted batch manifest, in bytes (it is read whole).
    #[arg(long, env = "VOD_LAMBDA_MAX_MANIFEST_BYTES", default_value_t = DEFAULT_MAX_MANIFEST_BYTES)]
    pub max_manifest_bytes: u64,

    /// Most rows one manifest may list (all must fit one invocation's time).
    #[arg(long, env = "VOD_LAMBDA_MAX_MANIFEST_ROWS", default_value_t = DEFAULT_MAX_MANIFEST_ROWS)]
    pub max_manifest_rows: usize,

    /// Objects larger than this are copied part by part (UploadPartCopy).
    #[arg(
        long,
        env = "VOD_LAMBDA_SINGLE_COPY_MAX_BYTES",
        default_value_t = DEFAULT_SINGLE_COPY_MAX_BYTES
    )]
    pub single_copy_max_bytes: u64,

    /// Part size of those multipart copies.
    #[arg(long, env = "VOD_LAMBDA_COPY_PART_BYTES", default_value_t = DEFAULT_COPY_PART_BYTES)]
    pub copy_part_bytes: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            ingest_prefix: DEFAULT_INGEST_PREFIX.to_owned(),
            source_key_prefix: String::new(),
            max_source_bytes: DEFAULT_MAX_SOURCE_BYTES,
            max_manifest_bytes: DEFAULT_MAX_MANIFEST_BYTES,
            max_manifest_rows: DEFAULT_MAX_MANIFEST_ROWS,
            single_copy_max_bytes: DEFAULT_SINGLE_COPY_MAX_BYTES,
            copy_part_bytes: DEFAULT_COPY_PART_BYTES,
        }
    }
}

impl IngestConfig {
    /// Refuses settings that would make the trigger loop or fail every copy.
    pub fn validate(&self) -> Result<(), LambdaError> {
        let bad = |m: String| Err(LambdaError::Config(m));
        if self.ingest_prefix.is_empty() || !self.ingest_prefix.ends_with('/') {
            return bad(format!(
                "VOD_LAMBDA_INGEST_PREFIX must be a folder ending in '/', not {:?}",
                self.ingest_prefix
            ));
        }
        // Copies land in `<source prefix>sources/`: watching that would
        // re-trigger on our own output.
        let sources = format!("{}sources/", self.source_key_prefix);
        if sources.starts_with(&self.ingest_prefix) || self.ingest_prefix.starts_with(&sources) {
            return bad(format!(
                "VOD_LAMBDA_INGEST_PREFIX {:?} overlaps the source copies under {sources:?}",
                self.ingest_prefix
            ));
        }
        if self.copy_part_bytes < MIN_COPY_PART_BYTES {
            return bad(format!(
                "VOD_LAMBDA_COPY_PART_BYTES must be at least {MIN_COPY_PART_BYTES} (S3's minimum part)"
            ));
        }
        Ok(())
    }
}

/// Everything the `bootstrap` binary reads.
#[derive(Debug, Clone, Parser)]
#[command(name = "bootstrap", about = "VOD ingest trigger (AWS Lambda)")]
pub struct LambdaEnv {
    #[command(flatten)]
    pub services: ServicesConfig,
    #[command(flatten)]
    pub ingest: IngestConfig,
    #[command(flatten)]
    pub log: LogConfig,
}

impl LambdaEnv {
    /// Defaults, then `VOD_*` environment variables; command-line arguments
    /// are ignored (Lambda passes none; a stray one must not change behaviour).
    pub fn from_env() -> Result<Self, LambdaError> {
        Self::from_args(["bootstrap"])
    }

    pub fn from_args<I, T>(args: I) -> Result<Self, LambdaError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let env = Self::try_parse_from(args).map_err(|e| LambdaError::Config(e.to_string()))?;
        env.ingest.validate()?;
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_debug_hides_secrets() {
        let env = LambdaEnv::from_args([
            "bootstrap",
            "--database-url",
            "postgres://vod:topsecret@db/vod",
            "--s3-secret-access-key",
            "alsosecret",
        ])
        .unwrap();
        assert_eq!(env.ingest.ingest_prefix, "ingest/");
        let shown = format!("{env:?}");
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(!shown.contains("alsosecret"), "{shown}");
    }

    #[test]
    fn overlapping_or_unterminated_prefixes_are_refused() {
        for bad in [
            vec!["--ingest-prefix", "ingest"],
            vec!["--ingest-prefix", ""],
            vec!["--ingest-prefix", "sources/"],
            vec!["--ingest-prefix", "sources/x/"],
            vec!["--ingest-prefix", "a/", "--source-key-prefix", "a/"],
            vec!["--copy-part-bytes", "1024"],
        ] {
            let args = std::iter::once("bootstrap").chain(bad.iter().copied());
            let err = LambdaEnv::from_args(args).unwrap_err();
            assert_eq!(err.code(), "lambda.config", "{bad:?}");
        }
        let ok = LambdaEnv::from_args(["bootstrap", "--ingest-prefix", "drop/here/"]).unwrap();
        assert_eq!(ok.ingest.ingest_prefix, "drop/here/");
    }
}
