//! AWS Elemental MediaConvert as a second transcoder backend: the same
//! backend-neutral [`vod_plan::Plan`] becomes a `CreateJob` request
//! ([`settings`]), the job is polled to its end ([`client`], [`status`]),
//! and what it wrote is read back into the [`vod_plan::Manifest`] that
//! registration consumes ([`outputs`]).

pub mod client;
pub mod config;
pub mod error;
pub mod outputs;
pub mod settings;
pub mod status;

pub use client::{JobRequest, MediaConvert, PollSettings};
pub use config::MediaConvertConfig;
pub use error::MediaConvertError;
pub use outputs::{promote_poster, read_manifest};
pub use settings::{Locations, job_settings};
pub use status::{Poll, Progress, interpret};
