-- Direct (presigned, client-to-S3) uploads: the S3 multipart upload behind a
-- video until the client completes it. One per video.

CREATE TABLE uploads (
    video_id     uuid PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    upload_id    text        NOT NULL,
    key          text        NOT NULL,
    size         bigint      NOT NULL CHECK (size > 0),
    part_size    bigint      NOT NULL CHECK (part_size > 0),
    part_count   integer     NOT NULL CHECK (part_count BETWEEN 1 AND 10000),
    -- 'completing' is held while one request completes it, so two cannot race.
    state        text        NOT NULL DEFAULT 'open'
                 CHECK (state IN ('open', 'completing', 'completed', 'rejected')),
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);

CREATE INDEX uploads_open_idx ON uploads (created_at) WHERE state = 'open';
