-- Videos, their renditions and every stored asset. PostgreSQL is the record
-- of truth; the MongoDB catalog and the Redis cache are derived from it.

CREATE TABLE videos (
    id              uuid PRIMARY KEY,
    title           text        NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    description     text        NOT NULL DEFAULT '',
    tags            text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL DEFAULT 'created'
                    CHECK (status IN ('created', 'uploading', 'queued', 'processing', 'ready', 'failed', 'deleted')),
    source_key      text,
    source_bytes    bigint,
    -- Where the HLS package lives in the outputs bucket, e.g. 'videos/<id>/'.
    output_prefix   text,
    duration_ms     bigint,
    width           integer,
    height          integer,
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX videos_status_idx ON videos (status);
CREATE INDEX videos_created_at_idx ON videos (created_at DESC);

CREATE TABLE renditions (
    video_id          uuid    NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    name              text    NOT NULL,
    kind              text    NOT NULL CHECK (kind IN ('video', 'audio')),
    width             integer,
    height            integer,
    frame_rate        double precision,
    bandwidth         bigint  NOT NULL,
    average_bandwidth bigint,
    codecs            text    NOT NULL,
    playlist_key      text    NOT NULL,
    segment_count     integer NOT NULL,
    bytes             bigint  NOT NULL,
    duration_ms       bigint  NOT NULL,
    PRIMARY KEY (video_id, name)
);

CREATE TABLE assets (
    video_id     uuid   NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    key          text   NOT NULL,
    kind         text   NOT NULL
                 CHECK (kind IN ('source', 'master_playlist', 'media_playlist', 'segment', 'poster', 'sprite', 'storyboard', 'manifest')),
    bytes        bigint NOT NULL,
    content_type text   NOT NULL,
    PRIMARY KEY (video_id, key)
);
