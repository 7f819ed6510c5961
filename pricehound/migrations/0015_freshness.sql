-- Version 15: freshness. Each watched listing's change rate is estimated from its own visits,
-- and each store's polite page budget is spent where prices change and people wait for them.
--
--   the writer     appends every ok reading's interval since the last one, and whether the
--                  price or stock had changed in it, to the listing's frontier row (a window of
--                  the last visits; pipelines/flush.py)
--   plan_revisits  (a beat task, pricehound.freshness) estimates each listing's change rate from
--                  its window with a prior from its store and category, weighs demand, and
--                  shares the store's budget out by the square-root rule, with a guaranteed
--                  revisit for hot listings; the result is user_crawler_priorities.revisit_interval,
--                  which the writer uses for next_due_at in place of crawl_interval()
--   store_revisit_plans  what each store's plan gives and whether its hot floor holds (status)

SET client_min_messages = warning;

SELECT add_column_if_absent('user_crawler_priorities', 'change_window_seconds', $$real[] NOT NULL DEFAULT '{}'$$);
SELECT add_column_if_absent('user_crawler_priorities', 'change_window_changed', $$boolean[] NOT NULL DEFAULT '{}'$$);
SELECT add_column_if_absent('user_crawler_priorities', 'change_rate', 'double precision CHECK (change_rate >= 0)');
SELECT add_column_if_absent('user_crawler_priorities', 'demand', 'double precision CHECK (demand >= 0)');
SELECT add_column_if_absent('user_crawler_priorities', 'hot', 'boolean NOT NULL DEFAULT false');
SELECT add_column_if_absent('user_crawler_priorities', 'revisit_interval', $$interval CHECK (revisit_interval > interval '0')$$);
COMMENT ON COLUMN user_crawler_priorities.change_window_seconds IS 'Seconds between the listing''s last ok readings (oldest first), the change-rate estimate''s evidence.';
COMMENT ON COLUMN user_crawler_priorities.change_window_changed IS 'Per entry of change_window_seconds: whether price, currency or stock had changed by the reading that ended it.';
COMMENT ON COLUMN user_crawler_priorities.change_rate IS 'Estimated price or stock changes per hour (maximum a posteriori over the window, prior from store and category); set by the revisit plan.';
COMMENT ON COLUMN user_crawler_priorities.demand IS 'What a late detection costs: watchers, premium watchers counted three times, watches whose target is near the price counted three times.';
COMMENT ON COLUMN user_crawler_priorities.hot IS 'Demand at or over PRICEHOUND_HOT_DEMAND: revisited at least every PRICEHOUND_HOT_MAX_REVISIT while the store''s budget allows.';
COMMENT ON COLUMN user_crawler_priorities.revisit_interval IS 'How often the budgeted revisit plan comes back to this listing; NULL: the demand policy (crawl_interval of priority).';

SELECT add_column_if_absent('stores', 'reserved_pages_per_hour',
    'double precision NOT NULL DEFAULT 0 CHECK (reserved_pages_per_hour >= 0)');
COMMENT ON COLUMN stores.reserved_pages_per_hour IS 'Pages per hour of the store''s polite rate spent on other work (rendering, search, discovery): the revisit plan does not spend them.';

CREATE TABLE IF NOT EXISTS store_revisit_plans (
    store_id                bigint PRIMARY KEY REFERENCES stores (id) ON DELETE CASCADE,
    policy                  text NOT NULL CHECK (policy IN ('demand', 'budgeted')),
    planned_at              timestamptz NOT NULL,
    capacity_pages_per_hour double precision NOT NULL,
    reserved_pages_per_hour double precision NOT NULL,
    budget_pages_per_hour   double precision NOT NULL,
    planned_pages_per_hour  double precision NOT NULL,
    listings                integer NOT NULL,
    hot_listings            integer NOT NULL,
    hot_max_revisit         interval NOT NULL,
    hot_revisit             interval,
    floor_honoured          boolean NOT NULL,
    prior_rate_per_hour     double precision
);
COMMENT ON TABLE store_revisit_plans IS 'The last revisit plan of each store: its page budget, what the plan spends, and whether hot listings get their guaranteed revisit.';
COMMENT ON COLUMN store_revisit_plans.capacity_pages_per_hour IS 'Pages per hour the store''s download delay and concurrency allow.';
COMMENT ON COLUMN store_revisit_plans.budget_pages_per_hour IS 'What the plan may spend: (capacity - reserved) x PRICEHOUND_REVISIT_BUDGET_SHARE.';
COMMENT ON COLUMN store_revisit_plans.planned_pages_per_hour IS 'Pages per hour the planned intervals add up to (never above the budget under the budgeted policy, unless the budget is zero).';
COMMENT ON COLUMN store_revisit_plans.hot_revisit IS 'The longest interval any hot listing gets; above hot_max_revisit when the budget cannot honour the floor.';
COMMENT ON COLUMN store_revisit_plans.floor_honoured IS 'Whether every hot listing is revisited at least every hot_max_revisit.';

-- The change rate of one listing, per second, from its window of visits.
--
-- A listing visited at irregular times t_1..t_n (seconds between readings), of which the
-- changed ones saw at least one change, has under a Poisson process of rate r the likelihood
-- prod_changed (1 - e^(-r t)) * prod_unchanged e^(-r t). With a Gamma prior (shape 1 + w, rate
-- w / prior_rate: w pseudo-changes over the exposure in which the prior rate expects them) the
-- mode of the posterior solves
--
--     g(r) = sum_changed t / (e^(r t) - 1) + w / r - sum_unchanged t - w / prior_rate = 0
--
-- (Cho and Garcia-Molina's estimator for incomplete change histories, in its maximum-likelihood
-- form for irregular visits). g is convex and decreasing, so its root is unique. Because
-- x / (e^x - 1) >= 1 - x / 2, the "changes over exposure, changed intervals counted half"
-- estimate r0 = (X + w) / (U + C/2 + w / prior_rate) has g(r0) >= 0: Newton's method started
-- there climbs to the root from below without overshooting. Counting changes over time (the
-- naive estimate) under-counts whenever visits are sparse, because a visit sees at most one of
-- the changes since the last; this does not.
CREATE OR REPLACE FUNCTION pricehound_change_rate(seconds real[], changed boolean[],
                                                  prior_rate double precision,
                                                  prior_weight double precision DEFAULT 1)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    w double precision := greatest(coalesce(prior_weight, 0), 0);
    b double precision := CASE WHEN prior_rate > 0 THEN greatest(coalesce(prior_weight, 0), 0) / prior_rate ELSE 0 END;
    n integer := least(coalesce(cardinality(seconds), 0), coalesce(cardinality(changed), 0));
    x integer := 0;
    u double precision := 0;
    c double precision := 0;
    r double precision;
    g double precision;
    dg double precision;
    t double precision;
    y double precision;
    e double precision;
    step double precision;
BEGIN
    FOR i IN 1 .. n LOOP
        t := seconds[i];
        CONTINUE WHEN t IS NULL OR t <= 0 OR changed[i] IS NULL;
        IF changed[i] THEN
            x := x + 1;
            c := c + t;
        ELSE
            u := u + t;
        END IF;
    END LOOP;
    IF x = 0 THEN
        -- nothing changed: the posterior mode has a closed form
        RETURN CASE WHEN u + b > 0 THEN w / (u + b) END;
    END IF;
    IF u + b <= 0 THEN
        RETURN NULL;  -- every visit saw a change and there is no prior: no finite estimate
    END IF;
    r := (x + w) / (u + c / 2 + b);
    FOR k IN 1 .. 60 LOOP
        g := w / r - u - b;
        dg := -w / (r * r);
        FOR i IN 1 .. n LOOP
            t := seconds[i];
            CONTINUE WHEN t IS NULL OR t <= 0 OR changed[i] IS NOT TRUE;
            y := r * t;
            IF y < 1e-6 THEN
                g := g + 1 / r - t / 2;
                dg := dg - 1 / (r * r) + t * t / 12;
            ELSIF y < 700 THEN
                e := exp(y);
                g := g + t / (e - 1);
                dg := dg - t * t * e / ((e - 1) * (e - 1));
            END IF;  -- beyond, the term is below 1e-300
        END LOOP;
        EXIT WHEN dg >= 0;
        step := -g / dg;
        r := CASE WHEN r + step > 0 THEN r + step ELSE r / 2 END;
        EXIT WHEN abs(step) <= r * 1e-9;
    END LOOP;
    RETURN r;
END
$$;
COMMENT ON FUNCTION pricehound_change_rate(real[], boolean[], double precision, double precision) IS
    'Changes per second of a listing from its visits (seconds between readings, whether each saw a change): maximum a posteriori under a Poisson process with a Gamma prior of prior_weight pseudo-changes at prior_rate.';

-- The revisit plan of every active store, in one statement: estimates, demand, budget, the
-- square-root allocation and the hot floor; writes the frontier and store_revisit_plans and
-- returns the plans. Under the demand policy everything is estimated and reported, and
-- revisit_interval is cleared so the writer keeps using crawl_interval().
--
-- Why the square-root rule: a listing of change rate r revisited every I seconds leaves each
-- change unseen for I/2 on average, so a store's expected detection delay, weighted by demand
-- d, is sum d r I / 2 per second. Minimising it under a budget of sum 1/I pages per second
-- (Lagrange) gives 1/I proportional to sqrt(d r): volatile, wanted pages come round more
-- often, but not in proportion (a page that changes faster than it can be read is not worth
-- the whole budget). Each listing's frequency is then clamped to its store's longest and
-- shortest interval (hot listings: at most the hot maximum revisit), and the constant of
-- proportion is the one whose clamped frequencies add up to the budget exactly (water-filling,
-- solved piecewise-linearly over the sorted clamp points).
CREATE OR REPLACE FUNCTION plan_revisits(p_policy text, p_budget_share double precision,
                                         p_hot_max_revisit interval, p_hot_demand double precision,
                                         p_near_target_share numeric, p_page_seconds double precision,
                                         p_default_rate_per_hour double precision,
                                         p_hot_budget_share double precision,
                                         p_prior_changes double precision,
                                         p_store_id bigint DEFAULT NULL)
RETURNS SETOF store_revisit_plans LANGUAGE sql AS $$
    WITH st AS MATERIALIZED (
        SELECT s.id AS store_id,
               extract(epoch FROM s.min_interval)::float8 AS min_s,
               extract(epoch FROM s.max_interval)::float8 AS max_s,
               3600.0 / greatest(s.download_delay::float8, p_page_seconds / s.concurrency) AS capacity,
               s.reserved_pages_per_hour AS reserved
          FROM stores s
         WHERE s.active AND (p_store_id IS NULL OR s.id = p_store_id)
    ), budget AS (
        SELECT st.*, greatest(st.capacity - st.reserved, 0) * p_budget_share AS budget_ph
          FROM st
    ), f AS MATERIALIZED (
        SELECT q.listing_id, q.store_id, q.watchers, q.premium_watchers, q.priority,
               q.change_window_seconds AS ws, q.change_window_changed AS wc,
               bp.category, w.x, w.exposure
          FROM user_crawler_priorities q
          JOIN st ON st.store_id = q.store_id
          JOIN store_listings l ON l.id = q.listing_id
          LEFT JOIN branded_products bp ON bp.id = l.product_id
         CROSS JOIN LATERAL (
               SELECT count(*) FILTER (WHERE z.c) AS x,
                      coalesce(sum(CASE WHEN z.c THEN z.t / 2 ELSE z.t END), 0)::float8 AS exposure
                 FROM unnest(q.change_window_seconds, q.change_window_changed) AS z(t, c)
                WHERE z.t > 0) w
         WHERE q.watchers > 0
    ), store_prior AS (
        -- pooled over the store's listings: one pseudo-change at the default rate keeps a new
        -- store's prior finite
        SELECT f.store_id, (sum(f.x) + 1) / (sum(f.exposure) + 3600.0 / p_default_rate_per_hour) AS rate
          FROM f GROUP BY f.store_id
    ), category_prior AS (
        -- a category of the store, shrunk toward the store by one pseudo-change at its rate
        SELECT f.store_id, f.category, (sum(f.x) + 1) / (sum(f.exposure) + 1 / min(sp.rate)) AS rate
          FROM f JOIN store_prior sp ON sp.store_id = f.store_id
         WHERE f.category IS NOT NULL
         GROUP BY f.store_id, f.category
    ), near AS (
        SELECT i.listing_id, count(*) AS n
          FROM shopping_list_items i
          JOIN f ON f.listing_id = i.listing_id
          JOIN store_prices p ON p.listing_id = i.listing_id
         WHERE i.active AND i.target_price IS NOT NULL
           AND p.price > i.target_price AND p.price <= i.target_price * (1 + p_near_target_share)
         GROUP BY i.listing_id
    ), est AS (
        SELECT f.listing_id, f.store_id, f.priority, b.min_s, b.max_s,
               coalesce(pricehound_change_rate(f.ws, f.wc, coalesce(cp.rate, sp.rate), p_prior_changes),
                        coalesce(cp.rate, sp.rate)) AS rate,
               (f.watchers + 2 * f.premium_watchers + 2 * coalesce(nr.n, 0))::float8 AS demand,
               (f.watchers + 2 * f.premium_watchers + 2 * coalesce(nr.n, 0)) >= p_hot_demand AS hot
          FROM f
          JOIN budget b ON b.store_id = f.store_id
          JOIN store_prior sp ON sp.store_id = f.store_id
          LEFT JOIN category_prior cp ON cp.store_id = f.store_id AND cp.category = f.category
          LEFT JOIN near nr ON nr.listing_id = f.listing_id
    ), wanted AS (
        -- per listing: sqrt(demand x rate), and the longest interval it may get (seconds)
        SELECT e.*, sqrt(greatest(e.demand, 1e-6) * greatest(e.rate, 1e-12)) AS s,
               CASE WHEN e.hot THEN least(e.max_s, extract(epoch FROM p_hot_max_revisit)::float8) ELSE e.max_s END AS hi0
          FROM est e
    ), feasible AS (
        -- can the budget give every hot listing its floor, with the floor taking at most
        -- p_hot_budget_share of it (the rest of the store is never starved by its hot pages), and
        -- every other listing its longest interval?
        SELECT b.store_id, b.budget_ph / 3600.0 AS budget, count(w.listing_id) AS n,
               count(w.listing_id) FILTER (WHERE w.hot) AS n_hot,
               coalesce(sum(1 / w.hi0) FILTER (WHERE w.hot), 0) AS hot_need,
               coalesce(sum(1 / w.max_s) FILTER (WHERE NOT w.hot), 0) AS rest,
               coalesce(sum(1 / w.max_s), 0) AS all_longest
          FROM budget b LEFT JOIN wanted w ON w.store_id = b.store_id
         GROUP BY b.store_id, b.budget_ph
    ), clamped AS (
        SELECT w.*, x.hi, least(CASE WHEN w.hot THEN least(w.min_s, w.hi0) ELSE w.min_s END, x.hi) AS lo
          FROM wanted w
          JOIN feasible fe ON fe.store_id = w.store_id
         CROSS JOIN LATERAL (SELECT CASE
                WHEN fe.budget <= 0 OR (fe.hot_need <= fe.budget * p_hot_budget_share
                                        AND fe.hot_need + fe.rest <= fe.budget) THEN w.hi0
                -- the floor cannot be had: hot listings share their part of the budget equally
                WHEN fe.budget > fe.all_longest THEN CASE
                    WHEN w.hot THEN least(w.max_s, greatest(w.hi0, fe.n_hot / least(fe.budget * p_hot_budget_share,
                                                                                    fe.budget - fe.rest)))
                    ELSE w.max_s END
                -- not even every listing at its longest interval: all come round equally rarely
                ELSE greatest(w.max_s, fe.n / fe.budget) END AS hi) x
    ), events AS (
        -- the clamp points of each listing's frequency c * s: it leaves 1/hi at c = 1/(hi s)
        -- and reaches 1/lo at c = 1/(lo s)
        SELECT c.store_id, 1 / (c.hi * c.s) AS pos, c.s AS dslope, -1 / c.hi AS dconst FROM clamped c
        UNION ALL
        SELECT c.store_id, 1 / (c.lo * c.s), -c.s, 1 / c.lo FROM clamped c
    ), segments AS (
        SELECT e.store_id, e.pos,
               lead(e.pos) OVER w AS next_pos,
               sum(e.dslope) OVER w AS slope, sum(e.dconst) OVER w AS const
          FROM events e
        WINDOW w AS (PARTITION BY e.store_id ORDER BY e.pos, e.dslope DESC ROWS UNBOUNDED PRECEDING)
    ), totals AS (
        SELECT c.store_id, sum(1 / c.hi) AS at_longest, sum(1 / c.lo) AS at_shortest
          FROM clamped c GROUP BY c.store_id
    ), level AS (
        SELECT t.store_id,
               CASE WHEN fe.budget <= t.at_longest THEN 0
                    WHEN fe.budget >= t.at_shortest THEN 'infinity'::float8
                    ELSE (SELECT min((fe.budget - t.at_longest - g.const) / g.slope)
                            FROM segments g
                           WHERE g.store_id = t.store_id AND g.slope > 0
                             AND (fe.budget - t.at_longest - g.const) / g.slope >= g.pos * (1 - 1e-9)
                             AND (g.next_pos IS NULL OR (fe.budget - t.at_longest - g.const) / g.slope <= g.next_pos * (1 + 1e-9)))
               END AS c
          FROM totals t JOIN feasible fe ON fe.store_id = t.store_id
    ), planned AS (
        SELECT c.listing_id, c.store_id, c.rate, c.demand, c.hot, c.priority, c.min_s, c.max_s,
               1 / greatest(1 / c.hi, least(1 / c.lo, coalesce(lv.c, 0) * c.s)) AS interval_s
          FROM clamped c JOIN level lv ON lv.store_id = c.store_id
    ), frontier AS (
        UPDATE user_crawler_priorities q
           SET change_rate = p.rate * 3600, demand = p.demand, hot = p.hot,
               revisit_interval = CASE WHEN p_policy = 'budgeted' THEN make_interval(secs => p.interval_s) END,
               -- a shorter interval brings the next visit forward; a longer one keeps its date
               next_due_at = CASE WHEN p_policy = 'budgeted'
                                  THEN least(q.next_due_at, coalesce(q.last_crawled_at, pricehound_now())
                                                            + make_interval(secs => p.interval_s))
                                  ELSE q.next_due_at END
          FROM planned p
         WHERE q.listing_id = p.listing_id
           AND (q.change_rate IS NULL OR q.hot IS DISTINCT FROM p.hot OR q.demand IS DISTINCT FROM p.demand
                OR abs(q.change_rate - p.rate * 3600) > 0.02 * q.change_rate
                OR (p_policy = 'budgeted') IS DISTINCT FROM (q.revisit_interval IS NOT NULL)
                OR (p_policy = 'budgeted' AND abs(extract(epoch FROM q.revisit_interval) - p.interval_s) > 0.02 * p.interval_s))
    ), plan AS (
        SELECT b.store_id, b.capacity, b.reserved, b.budget_ph,
               coalesce(sum(3600 / CASE WHEN p_policy = 'budgeted' THEN p.interval_s
                                        ELSE extract(epoch FROM crawl_interval(p.priority, make_interval(secs => p.min_s),
                                                                               make_interval(secs => p.max_s))) END), 0) AS planned_ph,
               count(p.listing_id)::int AS listings,
               count(p.listing_id) FILTER (WHERE p.hot)::int AS hot_listings,
               max(CASE WHEN p_policy = 'budgeted' THEN p.interval_s
                        ELSE extract(epoch FROM crawl_interval(p.priority, make_interval(secs => p.min_s),
                                                               make_interval(secs => p.max_s))) END)
                   FILTER (WHERE p.hot) AS hot_s,
               (SELECT (sum(x) + 1) / (sum(exposure) + 3600.0 / p_default_rate_per_hour) * 3600
                  FROM f WHERE f.store_id = b.store_id) AS prior_ph
          FROM budget b LEFT JOIN planned p ON p.store_id = b.store_id
         GROUP BY b.store_id, b.capacity, b.reserved, b.budget_ph
    )
    INSERT INTO store_revisit_plans AS r (store_id, policy, planned_at, capacity_pages_per_hour, reserved_pages_per_hour,
                                          budget_pages_per_hour, planned_pages_per_hour, listings, hot_listings,
                                          hot_max_revisit, hot_revisit, floor_honoured, prior_rate_per_hour)
    SELECT p.store_id, p_policy, pricehound_now(), p.capacity, p.reserved, p.budget_ph, p.planned_ph, p.listings,
           p.hot_listings, p_hot_max_revisit, make_interval(secs => p.hot_s),
           coalesce(p.hot_s <= extract(epoch FROM p_hot_max_revisit) * (1 + 1e-9), true), p.prior_ph
      FROM plan p
    ON CONFLICT (store_id) DO UPDATE
       SET policy = excluded.policy, planned_at = excluded.planned_at,
           capacity_pages_per_hour = excluded.capacity_pages_per_hour,
           reserved_pages_per_hour = excluded.reserved_pages_per_hour,
           budget_pages_per_hour = excluded.budget_pages_per_hour,
           planned_pages_per_hour = excluded.planned_pages_per_hour, listings = excluded.listings,
           hot_listings = excluded.hot_listings, hot_max_revisit = excluded.hot_max_revisit,
           hot_revisit = excluded.hot_revisit, floor_honoured = excluded.floor_honoured,
           prior_rate_per_hour = excluded.prior_rate_per_hour
    RETURNING r.*
$$;
COMMENT ON FUNCTION plan_revisits(text, double precision, interval, double precision, numeric, double precision, double precision, double precision, double precision, bigint) IS
    'The revisit plan of every active store (or one): change-rate estimates, demand, the budgeted square-root allocation with the hot floor; writes the frontier and store_revisit_plans.';

INSERT INTO schema_version (version, description)
VALUES (15, 'freshness: change-rate estimates per listing, a budgeted revisit plan per store with a hot floor')
ON CONFLICT (version) DO NOTHING;
