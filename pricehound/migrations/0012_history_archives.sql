-- Version 12: history retention. Monthly partitions of price_history_log older than
-- PRICEHOUND_HISTORY_KEEP_MONTHS are exported to a gzip CSV with a JSON manifest and detached
-- (`pricehound history archive`); `pricehound history restore FILE` attaches one again. This
-- table is the record of what left the database, where it went, and what came back.

CREATE TABLE IF NOT EXISTS history_archives (
    partition       text PRIMARY KEY CHECK (partition ~ '^price_history_log_[0-9]{4}_[0-9]{2}$'),
    range_from      timestamptz NOT NULL,
    range_to        timestamptz NOT NULL,
    row_count       bigint NOT NULL CHECK (row_count >= 0),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    file            text NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT pricehound_now(),
    restored_at     timestamptz,
    CHECK (range_to > range_from)
);
COMMENT ON TABLE history_archives IS 'Monthly partitions of price_history_log exported to files and detached (history retention).';
COMMENT ON COLUMN history_archives.partition IS 'The partition''s table name, price_history_log_YYYY_MM.';
COMMENT ON COLUMN history_archives.range_from IS 'First instant (inclusive) of observed_at the partition held.';
COMMENT ON COLUMN history_archives.range_to IS 'End (exclusive) of observed_at the partition held.';
COMMENT ON COLUMN history_archives.row_count IS 'Rows exported: the file holds exactly these.';
COMMENT ON COLUMN history_archives.sha256 IS 'SHA-256 of the gzip CSV file, checked again before a restore.';
COMMENT ON COLUMN history_archives.file IS 'Where the gzip CSV was written (its manifest is beside it, .json).';
COMMENT ON COLUMN history_archives.archived_at IS 'When the partition was exported and detached.';
COMMENT ON COLUMN history_archives.restored_at IS 'When it was attached again (NULL while archived).';

INSERT INTO schema_version (version, description)
VALUES (12, 'history_archives: monthly history partitions exported and detached, and restored')
ON CONFLICT (version) DO NOTHING;
