//! Shared domain types, the typed configuration and the adapters for the
//! services the API and the workers talk to. No HTTP and no media code here.

pub mod aws;
pub mod cache;
pub mod catalog;
pub mod cdn;
pub mod config;
pub mod db;
pub mod events;
pub mod ingest;
pub mod jobs;
pub mod keys;
pub mod secret;
pub mod services;
pub mod shutdown;
pub mod sniff;
pub mod storage;
pub mod store;
pub mod telemetry;

pub use config::{ConfigError, LogConfig, PlaybackConfig, S3Config, ServicesConfig};
pub use secret::{Secret, SecretUrl};
pub use services::{Services, StartupError};
