//! The integration suite: one test binary, real services (see `vod_tests`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is the failure report"
)]

mod jobs;
mod smoke;
mod webhooks;
