-- Jobs (the record of truth for queue state), API tokens and webhooks.

CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    video_id         uuid        NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    kind             text        NOT NULL DEFAULT 'transcode' CHECK (kind IN ('transcode')),
    payload_version  integer     NOT NULL DEFAULT 1,
    -- The same request delivered twice (client retry, duplicate S3 event) maps to one job.
    idempotency_key  text        NOT NULL UNIQUE,
    state            text        NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled', 'dead')),
    -- Times a worker started the job, and the cap for transient-failure retries.
    attempts         integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL DEFAULT 5,
    -- Times a worker died (or was killed) while holding the job; 3 → dead.
    worker_losses    integer     NOT NULL DEFAULT 0,
    stage            text,
    percent          real,
    eta_seconds      integer,
    worker           text,
    heartbeat_at     timestamptz,
    next_attempt_at  timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    error_code       text,
    error_message    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX jobs_video_idx ON jobs (video_id, created_at DESC);
CREATE INDEX jobs_state_idx ON jobs (state);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text        NOT NULL,
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   bytea       NOT NULL UNIQUE,
    role         text        NOT NULL CHECK (role IN ('admin', 'uploader', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE webhooks (
    id         uuid PRIMARY KEY,
    url        text        NOT NULL,
    secret     text        NOT NULL,
    events     text[]      NOT NULL DEFAULT '{video.ready,video.failed}',
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    webhook_id       uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            text        NOT NULL,
    payload          jsonb       NOT NULL,
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
