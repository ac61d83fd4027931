-- A job is a plan plus typed tasks (issue 14), and every task reaches the Redis queue
-- even when a push is refused or the queue loses it (issue 13).
--
-- State names are owned by vod_core::store::states (JobState, TaskState, VideoStatus);
-- the CHECKs below list the same names.

-- The plan the job runs (vod_plan::Plan as JSON), stored when its prepare task planned it.
ALTER TABLE jobs ADD COLUMN plan jsonb;

-- A job no longer retries as a whole: its tasks do. Jobs that were waiting for a
-- retry become queued again, with a new prepare task below.
UPDATE jobs SET state = 'queued', next_attempt_at = NULL WHERE state IN ('retrying', 'running');
ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'));

CREATE TABLE tasks (
    id              uuid PRIMARY KEY,
    job_id          uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind            text        NOT NULL CHECK (kind IN ('prepare', 'encode_chunk', 'audio', 'assemble')),
    -- The chunk index for encode_chunk, 0 otherwise.
    seq             integer     NOT NULL DEFAULT 0,
    -- 'waiting': created, but its inputs are not ready (assemble before the fan-in).
    state           text        NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('waiting', 'queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL DEFAULT 5,
    worker_losses   integer     NOT NULL DEFAULT 0,
    worker          text,
    heartbeat_at    timestamptz,
    next_attempt_at timestamptz,
    started_at      timestamptz,
    finished_at     timestamptz,
    -- 0-100, this task's own progress.
    progress        real        NOT NULL DEFAULT 0,
    -- Share of the job's work (chunks by frames), for the job's progress.
    weight          real        NOT NULL DEFAULT 1,
    error_code      text,
    error_message   text,
    -- What the task produced, for the tasks after it (segments, tiles…).
    result          jsonb,
    -- When the task last reached the Redis queue; empty while it is not there.
    pushed_at       timestamptz,
    queue_status    text GENERATED ALWAYS AS (
        CASE WHEN state = 'queued' THEN
            CASE WHEN pushed_at IS NULL THEN 'stranded' ELSE 'waiting' END
        END) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, kind, seq)
);

CREATE INDEX tasks_job_idx ON tasks (job_id);
CREATE INDEX tasks_state_idx ON tasks (state);
-- The relay's scans: queued tasks not pushed, and queued tasks to audit against Redis.
CREATE INDEX tasks_queued_push_idx ON tasks (pushed_at NULLS FIRST, updated_at) WHERE state = 'queued';

-- Every unfinished job starts over from a prepare task (the relay pushes it).
INSERT INTO tasks (id, job_id, kind, max_attempts)
SELECT gen_random_uuid(), id, 'prepare', max_attempts FROM jobs WHERE state = 'queued';
