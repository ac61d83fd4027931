//! The integration suite: one test binary, real services (see `vod_tests`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is the failure report"
)]

mod api_auth;
mod api_direct;
mod api_edge;
mod api_lifecycle;
mod api_openapi;
mod api_pull;
mod api_ratelimit;
mod api_upload;
mod api_videos;
mod aws_credentials;
mod chunked;
mod jobs;
mod mediaconvert;
mod panel;
mod queue_metric;
mod queue_relay;
mod redis_outage;
mod redis_tls;
mod signed_playback;
mod smoke;
mod visibility;
mod webhooks;
