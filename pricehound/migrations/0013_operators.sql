-- Operators: admin users, stores paused by hand, and the indexes the metrics read per scrape.

-- Who may open /admin (`pricehound users add --admin`).
ALTER TABLE users ADD COLUMN IF NOT EXISTS is_admin boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN users.is_admin IS 'May open the operator''s page (/admin): stores, held runs, queues, email outcomes.';

-- A pause an operator set (`pricehound stores pause`, /admin): dispatch skips the store until it
-- is resumed. Separate from the circuit breaker (paused_until), which lifts itself.
ALTER TABLE stores ADD COLUMN IF NOT EXISTS paused_at timestamptz;
ALTER TABLE stores ADD COLUMN IF NOT EXISTS paused_reason text;
COMMENT ON COLUMN stores.paused_at IS 'When an operator paused the store (NULL: not paused); nothing is dispatched until resumed.';
COMMENT ON COLUMN stores.paused_reason IS 'What the operator wrote when pausing the store.';

-- /metrics reads the last hour of finished runs and of email outcomes on every scrape.
CREATE INDEX IF NOT EXISTS crawl_runs_finished_idx ON crawl_runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_updated_brin ON notifications USING brin (updated_at);

INSERT INTO schema_version (version, description)
VALUES (13, 'operators: users.is_admin, stores paused by hand, indexes for metrics')
ON CONFLICT (version) DO NOTHING;
