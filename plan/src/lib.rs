//! Pure media planning, the hinge every backend reads: what we know about a
//! source ([`Probe`]), what we accept ([`Limits`]), the ladder and its codecs
//! and packaging ([`Plan`]), how the encode splits into chunk tasks
//! ([`ChunkSchedule`]) and what a finished package is ([`Manifest`]).
//!
//! No GStreamer, no async, no I/O: everything here is plain data and plain
//! functions, table-tested on recorded probe output (`tests/fixtures/`).

pub mod chunks;
pub mod codec;
pub mod error;
pub mod estimate;
pub mod limits;
pub mod manifest;
pub mod outputs;
pub mod plan;
pub mod probe;

pub use chunks::{Chunk, ChunkSchedule};
pub use codec::{AudioCodec, H264Profile, Packaging, VideoCodec};
pub use error::{ErrorKind, PlanError};
pub use limits::Limits;
pub use manifest::{Manifest, Rendition, RenditionKind, Thumbnails};
pub use outputs::{AudioOutput, ChunkOutput, SegmentInfo, SegmentRun};
pub use plan::{AudioRendition, PLAN_VERSION, Plan, Rung, ThumbSpec, plan};
pub use probe::{AudioStream, Orientation, Probe, VideoStream, check_container};
