-- Queue hand-off (issue 13): a job committed here reaches the Redis queue even when
-- the first push is refused or the queue later loses it. `pushed_at` is set when a
-- push reached Redis and cleared by every transition to 'queued'; the relay
-- (vod_core::jobs::relay) pushes queued rows without it and clears it on rows the
-- queue no longer holds.
ALTER TABLE jobs ADD COLUMN pushed_at timestamptz;

-- Derived, so readers (API, panel, metrics) tell a stranded job from a waiting one
-- without knowing the rule.
ALTER TABLE jobs ADD COLUMN queue_status text GENERATED ALWAYS AS (
    CASE WHEN state = 'queued' THEN
        CASE WHEN pushed_at IS NULL THEN 'stranded' ELSE 'waiting' END
    END) STORED;

-- The relay's scans: queued rows not pushed, and queued rows to audit against Redis.
CREATE INDEX jobs_queued_push_idx ON jobs (pushed_at NULLS FIRST, updated_at) WHERE state = 'queued';
