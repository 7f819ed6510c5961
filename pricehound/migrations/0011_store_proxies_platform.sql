-- Proxies per store and the platform a store's pages were found to run on.
--
-- stores.proxy_pool names a pool from PRICEHOUND_PROXY_POOLS (pricehound/config.py): only the
-- name is kept here; the proxies and their credentials live in the environment, never in the
-- database. stores.proxy_rotation says how a pool's proxies are taken: round_robin (each request
-- the next one) or sticky (one listing keeps its proxy while it works).
-- stores.platform is what the crawl last found the store's pages to run on (shopify,
-- woocommerce, magento), so the next crawl asks the platform's product endpoint first;
-- NULL: not known, the pages are read and looked at.

-- looked up first: ALTER TABLE would lock the stores table on every apply
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = 'stores'
                      AND column_name = 'proxy_pool') THEN
        ALTER TABLE stores
            ADD COLUMN proxy_pool text
                CHECK (proxy_pool IS NULL OR proxy_pool ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
            ADD COLUMN proxy_rotation text NOT NULL DEFAULT 'round_robin'
                CHECK (proxy_rotation IN ('round_robin', 'sticky')),
            ADD COLUMN platform text CHECK (platform IS NULL OR platform ~ '^[a-z][a-z0-9_]{0,30}$'),
            ADD COLUMN platform_seen_at timestamptz;
    END IF;
END
$$;

COMMENT ON COLUMN stores.proxy_pool IS 'Name of a proxy pool in PRICEHOUND_PROXY_POOLS this store is crawled through (NULL: direct). Proxies and credentials stay in the environment.';
COMMENT ON COLUMN stores.proxy_rotation IS 'round_robin: each request takes the next proxy of the pool; sticky: a listing keeps its proxy while it works.';
COMMENT ON COLUMN stores.platform IS 'The shop platform the last crawl found (shopify, woocommerce, magento): its product endpoint is asked first. NULL: unknown.';
COMMENT ON COLUMN stores.platform_seen_at IS 'When the crawl last saw the platform evidence.';

INSERT INTO schema_version (version, description)
VALUES (11, 'stores.proxy_pool, proxy_rotation (proxies per store); stores.platform found by the crawl')
ON CONFLICT (version) DO NOTHING;
