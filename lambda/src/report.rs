//! The handler's answer: every record and manifest row ends in exactly one
//! list, with the reason when it was not turned into a video.

use serde::Serialize;
use uuid::Uuid;

/// Where a manifest row came from, so an operator can fix that line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    pub manifest: String,
    /// 1-based data row (CSV: the header is row 0).
    pub row: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The ingest object.
    pub key: String,
    pub video_id: Uuid,
    pub job_id: Uuid,
    pub title: String,
    /// The copy the workers read, `sources/<id>/source.<ext>`.
    pub source_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<RowRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub key: String,
    pub code: &'static str,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<RowRef>,
}

impl Refusal {
    pub fn new(key: &str, code: &'static str, reason: String) -> Self {
        Self {
            key: key.to_owned(),
            code,
            reason,
            from: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// New videos with their queued job.
    pub created: Vec<Accepted>,
    /// Already ingested (a repeated delivery): the existing video and job.
    pub duplicates: Vec<Accepted>,
    /// Ours but unusable: not media, too large, missing, bad manifest row…
    pub rejected: Vec<Refusal>,
    /// Not ours: another event type, bucket or prefix.
    pub ignored: Vec<Refusal>,
}

/// What one object turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created(Accepted),
    Duplicate(Accepted),
    Rejected(Refusal),
}

impl Report {
    pub fn push(&mut self, outcome: Outcome, from: Option<RowRef>) {
        match outcome {
            Outcome::Created(a) => self.created.push(Accepted { from, ..a }),
            Outcome::Duplicate(a) => self.duplicates.push(Accepted { from, ..a }),
            Outcome::Rejected(r) => self.rejected.push(Refusal { from, ..r }),
        }
    }
}
