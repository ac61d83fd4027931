-- Private videos are played only through signed CDN URLs or cookies.
ALTER TABLE videos
    ADD COLUMN visibility text NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'private'));
