-- Version 8: product identity. Listings are linked to branded_products on evidence (GTIN, then
-- brand + part number, then a confirmed title match), each link saying how and how sure; an
-- operator's correction is never overwritten; products carry several GTINs and an image;
-- exchange rates for comparisons across currencies; product watches follow every linked listing.

-- What the page states about the product's identity, kept as read (pricehound/identity.py reads
-- evidence from them). brand and mpn come from JSON-LD / microdata Product.brand and .mpn.
SELECT add_column_if_absent('store_listings', 'brand', 'text');
SELECT add_column_if_absent('store_listings', 'mpn', 'text');
COMMENT ON COLUMN store_listings.brand IS 'The brand the page states (schema.org Product.brand), as read.';
COMMENT ON COLUMN store_listings.mpn IS 'The manufacturer part number the page states (schema.org Product.mpn), as read.';

-- How the listing came to be linked to its product. link_source 'operator' is an operator's
-- decision (a link, or an unlink with product_id NULL): the linker never changes such a row.
SELECT add_column_if_absent('store_listings', 'link_method',
    $$text CHECK (link_method IN ('gtin', 'brand_mpn', 'title', 'operator'))$$);
SELECT add_column_if_absent('store_listings', 'link_rule', 'text');
SELECT add_column_if_absent('store_listings', 'link_confidence',
    'numeric(3,2) CHECK (link_confidence BETWEEN 0 AND 1)');
SELECT add_column_if_absent('store_listings', 'link_source',
    $$text CHECK (link_source IN ('linker', 'operator', 'user'))$$);
SELECT add_column_if_absent('store_listings', 'linked_at', 'timestamptz');
COMMENT ON COLUMN store_listings.link_method IS 'What linked the listing to its product: gtin, brand_mpn, title (confirmed by a person) or operator.';
COMMENT ON COLUMN store_listings.link_rule IS 'The named identity rule that decided the link (pricehound/identity.py).';
COMMENT ON COLUMN store_listings.link_confidence IS 'How sure the link is, 0..1.';
COMMENT ON COLUMN store_listings.link_source IS 'linker (may be relinked on new evidence), user or operator (never changed by the linker; with product_id NULL: kept unlinked).';

-- The evidence the linker joins on, one row per listing, written by the crawl's writer (and by
-- pricehound.identity.refresh_evidence): GTIN-14, brand and part number keys, and what makes
-- near-identical listings different products.
CREATE TABLE IF NOT EXISTS listing_identity (
    listing_id  bigint PRIMARY KEY REFERENCES store_listings (id) ON DELETE CASCADE,
    gtin        text CHECK (gtin ~ '^[0-9]{14}$'),
    brand       text,
    mpn         text,
    size        text,
    colour      text,
    capacity    text,
    kind        text NOT NULL DEFAULT '',
    facts       text,
    updated_at  timestamptz NOT NULL DEFAULT pricehound_now()
);
CREATE INDEX IF NOT EXISTS listing_identity_gtin_idx ON listing_identity (gtin) WHERE gtin IS NOT NULL;
COMMENT ON TABLE listing_identity IS 'Identity evidence of each listing (pricehound/identity.py): GTIN-14, brand and MPN keys, size, colour, capacity, and the offer kind (pack, condition, bundle, accessory).';
COMMENT ON COLUMN listing_identity.facts IS 'md5 of the listing facts the evidence was read from (title, GTIN, brand, MPN): unchanged facts are not read again.';
COMMENT ON COLUMN listing_identity.kind IS 'Empty for one new item alone; else accessory, bundle, condition=..., pack=N joined by ";".';

-- Products: an image, the same evidence columns (from the product's name and identifiers), and
-- the listing a product was first made from.
SELECT add_column_if_absent('branded_products', 'image_url', 'text');
SELECT add_column_if_absent('branded_products', 'id_brand', 'text');
SELECT add_column_if_absent('branded_products', 'id_mpn', 'text');
SELECT add_column_if_absent('branded_products', 'id_size', 'text');
SELECT add_column_if_absent('branded_products', 'id_colour', 'text');
SELECT add_column_if_absent('branded_products', 'id_capacity', 'text');
SELECT add_column_if_absent('branded_products', 'id_kind', $$text NOT NULL DEFAULT ''$$);
SELECT add_column_if_absent('branded_products', 'created_from_listing_id', 'bigint');
CREATE INDEX IF NOT EXISTS branded_products_brand_mpn_idx ON branded_products (id_brand, id_mpn)
    WHERE id_brand IS NOT NULL AND id_mpn IS NOT NULL;
COMMENT ON COLUMN branded_products.id_kind IS 'The offer kind of the product (see listing_identity.kind): a listing of another kind is never linked to it.';
-- Full-text search: branded_products.search is to_tsvector('simple', name, brand, category,
-- MPN). 'simple' on purpose: shops are multilingual, and a language configuration would stem
-- German names with English rules (or drop "die" as a stop word from a French name); 'simple'
-- only lower-cases, so a product is found by any word of its name in any language, and brand
-- and model words ("iPhone", "KW-1700") are kept whole. No unaccent: the extension is not
-- always installed, and shops write a brand with its accents the way its maker does.
COMMENT ON COLUMN branded_products.search IS 'Full-text search vector (simple configuration: multilingual names, no stemming) over name, brand, category and MPN.';

-- Every GTIN a product is sold under (regional codes, a re-issue), each naming one product.
CREATE TABLE IF NOT EXISTS product_gtins (
    gtin        text PRIMARY KEY CHECK (gtin ~ '^[0-9]{14}$'),
    product_id  bigint NOT NULL REFERENCES branded_products (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT pricehound_now()
);
CREATE INDEX IF NOT EXISTS product_gtins_product_idx ON product_gtins (product_id);
COMMENT ON TABLE product_gtins IS 'The GTIN-14s (EAN, UPC, ISBN as GTIN-14 with a valid check digit) of each product; one product per GTIN.';

-- Exchange rates the operator loads (pricehound rates load, the ECB daily reference CSV):
-- units of currency per one EUR on a day.
CREATE TABLE IF NOT EXISTS exchange_rates (
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    rate_date   date NOT NULL,
    per_eur     numeric NOT NULL CHECK (per_eur > 0),
    loaded_at   timestamptz NOT NULL DEFAULT pricehound_now(),
    PRIMARY KEY (currency, rate_date)
);
COMMENT ON TABLE exchange_rates IS 'Units of currency per one euro on rate_date (ECB reference rates as loaded by the operator); EUR itself is 1.';

CREATE OR REPLACE VIEW latest_exchange_rates AS
SELECT DISTINCT ON (currency) currency, rate_date, per_eur
  FROM exchange_rates ORDER BY currency, rate_date DESC;
COMMENT ON VIEW latest_exchange_rates IS 'The newest loaded rate of each currency (units per EUR).';

INSERT INTO schema_version (version, description)
VALUES (8, 'product identity: evidence, named links, operator corrections, product GTINs, exchange rates')
ON CONFLICT (version) DO NOTHING;
