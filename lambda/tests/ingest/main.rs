//! The ingest trigger against the real local PostgreSQL, Redis and S3
//! (Garage), one `TestEnv` namespace per test: recorded S3 notification
//! events from `tests/fixtures/` are fed to `vod_lambda::handle`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is the failure report"
)]

mod events;
mod manifests;
mod runtime;
mod support;
mod worker;
