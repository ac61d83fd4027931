//! The states of jobs, tasks and videos, and which moves between them are
//! allowed. The names are the ones stored in PostgreSQL (see migration
//! 0006's CHECKs); nothing else in the code spells them.

use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type,
            utoipa::ToSchema,
        )]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        /// Compares with the stored name (tests and logs read better).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// A job: one piece of work on a video (a transcode), made of tasks.
    JobState {
        /// Recorded; no task has started.
        Queued => "queued",
        /// Some task has started; the job is not finished.
        Running => "running",
        Succeeded => "succeeded",
        /// A task failed for good: the job failed with its code and sentence.
        Failed => "failed",
        Cancelled => "cancelled",
        /// A task lost its worker too many times.
        Dead => "dead",
    }
);

text_enum!(
    /// A task: a unit any worker can take (a chunk, the audio, the assembly).
    TaskState {
        /// Created, but its inputs are not ready (assemble before the fan-in).
        Waiting => "waiting",
        Queued => "queued",
        Running => "running",
        /// Failed transiently; queued again at `next_attempt_at`.
        Retrying => "retrying",
        Succeeded => "succeeded",
        Failed => "failed",
        /// Its job was cancelled, or failed because of another task.
        Cancelled => "cancelled",
        /// It lost its worker too many times.
        Dead => "dead",
    }
);

text_enum!(
    /// What a task does.
    TaskKind {
        /// Probe and plan the source; fan out into chunk, audio and assemble
        /// tasks, or (short sources, MediaConvert) run the whole encode.
        Prepare => "prepare",
        /// Every video rung of one time range, its storyboard tiles and, for
        /// the chunk that holds it, the poster.
        EncodeChunk => "encode_chunk",
        /// The whole audio track, once.
        Audio => "audio",
        /// Fan-in: playlists, sprites, manifest, registration.
        Assemble => "assemble",
    }
);

text_enum!(
    /// A video's status, as the API shows it.
    VideoStatus {
        Created => "created",
        Uploading => "uploading",
        Queued => "queued",
        Processing => "processing",
        Ready => "ready",
        Failed => "failed",
        Deleted => "deleted",
    }
);

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Dead
        )
    }

    /// Still to be worked on (the API's retry and cancel look at this).
    pub fn is_active(self) -> bool {
        !self.is_final()
    }
}

impl TaskState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::Dead
        )
    }

    /// Whether the store may move a task from `self` to `to`. Every
    /// transition in `tasks.rs` is one of these; the table is the state
    /// machine's single definition.
    pub fn can_become(self, to: TaskState) -> bool {
        use TaskState::*;
        match (self, to) {
            // Fan-in: the inputs are ready.
            (Waiting, Queued) => true,
            // Claim.
            (Queued | Retrying, Running) => true,
            // A lost worker's task taken over by another (counted as a loss).
            (Running, Running) => true,
            // Hand back at shutdown, or re-queue after a lost delivery.
            (Running, Queued) => true,
            (Running, Succeeded | Failed | Retrying | Dead) => true,
            // Due retry.
            (Retrying, Queued) => true,
            // Cancel (the job was cancelled or failed elsewhere).
            (from, Cancelled) => !from.is_final(),
            // Lost its worker too often before it could be claimed again.
            (Queued | Retrying, Dead) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_display() {
        for s in TaskState::ALL {
            let json = serde_json::to_string(s).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(TaskKind::EncodeChunk.as_str(), "encode_chunk");
        assert_eq!(JobState::ALL.len(), 6);
        assert_eq!(VideoStatus::Ready.to_string(), "ready");
    }

    #[test]
    fn finished_tasks_never_move_again() {
        for from in TaskState::ALL.iter().filter(|s| s.is_final()) {
            for to in TaskState::ALL {
                assert!(!from.can_become(*to), "{from} → {to}");
            }
        }
    }

    #[test]
    fn the_task_lifecycle() {
        use TaskState::*;
        let allowed = [
            (Waiting, Queued),
            (Queued, Running),
            (Running, Succeeded),
            (Running, Retrying),
            (Retrying, Queued),
            (Running, Queued),
            (Running, Dead),
            (Queued, Cancelled),
            (Waiting, Cancelled),
        ];
        for (from, to) in allowed {
            assert!(from.can_become(to), "{from} → {to}");
        }
        let refused = [
            (Waiting, Running),
            (Queued, Succeeded),
            (Retrying, Succeeded),
            (Waiting, Succeeded),
        ];
        for (from, to) in refused {
            assert!(!from.can_become(to), "{from} → {to}");
        }
    }

    #[test]
    fn final_job_states() {
        assert!(JobState::Cancelled.is_final() && !JobState::Running.is_final());
        assert!(JobState::Queued.is_active());
    }
}
