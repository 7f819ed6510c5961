-- Rendering: a store whose pages are built by script in the browser is crawled through a
-- headless Chromium (`pricehound stores add/edit --render js`), and a crawl run of a store that
-- does not render says when its pages looked like they need it.

ALTER TABLE stores ADD COLUMN IF NOT EXISTS render text NOT NULL DEFAULT 'none';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'stores_render_check'
                     AND conrelid = 'stores'::regclass) THEN
        ALTER TABLE stores ADD CONSTRAINT stores_render_check CHECK (render IN ('none', 'js'));
    END IF;
END
$$;

COMMENT ON COLUMN stores.render IS
    'How product pages are fetched: none (the HTML as served) or js (rendered in headless Chromium).';

ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS render_advice text;

COMMENT ON COLUMN crawl_runs.render_advice IS
    'Set when the run''s pages came back as app shells or script pages without product data: '
    'the rule that said so, the counts, and the command that makes the store render.';

INSERT INTO schema_version (version, description)
VALUES (10, 'stores.render (none | js) and crawl_runs.render_advice')
ON CONFLICT (version) DO NOTHING;
