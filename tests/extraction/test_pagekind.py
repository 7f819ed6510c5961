"""Pages served with 200 that are not the product: each says what it is, in its own language,
inside a store's usual frame (a header with "Sign in", a footer with a country picker and a
cookie notice).  Only a page that says the product is gone is "gone"; the rest are failures."""

from __future__ import annotations

import pytest

from spiders.extraction import extract_product, pagekind
from spiders.observe import decide

HEADER = ('<header class="site-header"><a href="/">Home</a><nav class="main-nav"><ul>'
          + "".join(f'<li><a href="/c/{i}">Category {i}</a></li>' for i in range(30))
          + '</ul></nav><a href="/account/login">Sign in</a> <a href="/cart">Cart (0)</a></header>')
FOOTER = ('<footer class="site-footer"><div class="country">Choose your country / region '
          '<select><option>Deutschland</option><option>France</option></select></div>'
          '<p>This site uses cookies. <button>Accept all cookies</button></p>'
          '<a href="/account/login">Log in</a> <a href="/help">Help</a> <p>© Shop</p></footer>')


def page(title: str, main: str, lang: str = "en", head: str = "", frame: bool = True) -> str:
    return (f'<!doctype html><html lang="{lang}"><head><title>{title}</title>{head}</head><body>'
            f'{HEADER if frame else ""}<main>{main}</main>{FOOTER if frame else ""}</body></html>')


CASES = [
    # maintenance, holiday closures, a store behind its password
    ("unrecognised", "maintenance", page("We'll be back soon", "<h1>Down for maintenance</h1><p>Our store is "
                                         "undergoing scheduled maintenance. Please check back in an hour.</p>")),
    ("unrecognised", "maintenance", page("Wartung", "<h1>Wartungsarbeiten</h1><p>Wir sind gleich wieder für Sie da.</p>",
                                         "de")),
    ("unrecognised", "maintenance", page("Boutique", "<h1>Site en maintenance</h1><p>De retour très bientôt.</p>", "fr")),
    ("unrecognised", "maintenance", page("Tienda", "<h1>Estamos en mantenimiento</h1><p>Volvemos pronto.</p>", "es")),
    ("unrecognised", "maintenance", page("ショップ", "<h1>メンテナンス中</h1><p>ご迷惑をおかけします。</p>", "ja")),
    ("unrecognised", "maintenance", page("Shop", "<h1>Closed for the holidays</h1><p>Orders resume on 2 January.</p>")),
    ("unrecognised", "maintenance", page("Opening soon", '<h1>Opening soon</h1><form><label>Enter store using '
                                         'password</label><input type="password"></form>', frame=False)),
    # virtual queues
    ("unrecognised", "queue", page("Shop", "<h1>You are now in line</h1><p>Your estimated wait time is 4 minutes."
                                   "</p>")),
    ("unrecognised", "queue", page("Shop", "<h1>Sie befinden sich in der Warteschlange</h1>", "de")),
    ("unrecognised", "queue", page("Boutique", "<h1>Vous êtes dans la file d'attente</h1>", "fr")),
    ("unrecognised", "queue", page("Tienda", "<h1>Sala de espera virtual</h1><p>Gracias por su paciencia.</p>", "es")),
    ("unrecognised", "queue", page("Shop", "<p>Please wait.</p>",
                                   head='<script src="https://static.queue-it.net/script/queueclient.min.js"></script>',
                                   frame=False)),
    # region pickers and geo blocks
    ("unrecognised", "geo_block", page("Shop", "<h1>Sorry, this store is not available in your country</h1>")),
    ("unrecognised", "geo_block", page("Shop", "<h1>Select your country / region</h1><ul><li><a href='/us'>United "
                                       "States</a></li><li><a href='/uk'>United Kingdom</a></li></ul>")),
    ("unrecognised", "geo_block", page("Shop", "<h1>In Ihrem Land nicht verfügbar</h1>", "de")),
    ("unrecognised", "geo_block", page("Boutique", "<h1>Choisissez votre pays</h1>", "fr")),
    ("unrecognised", "geo_block", page("Tienda", "<h1>Selecciona tu país</h1>", "es")),
    # login walls
    ("unrecognised", "login_wall", page("Shop", "<h1>Please log in to continue</h1>")),
    ("unrecognised", "login_wall", page("Account", '<h1>Sign in</h1><form><input name="email">'
                                        '<input type="password" name="pw"><button>Sign in</button></form>')),
    ("unrecognised", "login_wall", page("Shop", "<h1>Bitte melden Sie sich an</h1><p>Preise nur für Händler.</p>",
                                        "de")),
    ("unrecognised", "login_wall", page("Boutique", "<h1>Connectez-vous pour voir les prix</h1>", "fr")),
    ("unrecognised", "login_wall", page("ショップ", "<h1>ログインしてください</h1>", "ja")),
    # age gates
    ("unrecognised", "age_gate", page("Wine shop", "<h1>Are you 21 or older?</h1><button>Yes</button>"
                                      "<button>No</button>")),
    ("unrecognised", "age_gate", page("Shop", "<h1>Bist du mindestens 18 Jahre alt?</h1>", "de")),
    ("unrecognised", "age_gate", page("Cave", "<h1>Êtes-vous majeur ?</h1>", "fr")),
    ("unrecognised", "age_gate", page("Bodega", "<h1>¿Eres mayor de edad?</h1>", "es")),
    # "too many requests" and error bodies served with 200
    ("unrecognised", "rate_limited", page("429 Too Many Requests", "<h1>Too Many Requests</h1>", frame=False)),
    ("unrecognised", "rate_limited", page("Shop", "<h1>Zu viele Anfragen</h1><p>Bitte später erneut.</p>", "de")),
    ("unrecognised", "rate_limited", page("Boutique", "<h1>Trop de requêtes</h1>", "fr")),
    ("unrecognised", "error_page", page("Oops!", "<h1>Oops, error 500</h1><p>Please try again later.</p>")),
    ("unrecognised", "error_page", page("Shop", "<h1>Something went wrong</h1>")),
    ("unrecognised", "error_page", page("Shop", "<h1>Ein Fehler ist aufgetreten</h1>", "de")),
    ("unrecognised", "error_page", page("Boutique", "<h1>Une erreur est survenue</h1>", "fr")),
    ("unrecognised", "error_page", page("Tienda", "<h1>Se ha producido un error</h1>", "es")),
    ("unrecognised", "error_page", page("ショップ", "<h1>エラーが発生しました</h1>", "ja")),
    # an error that also says "not found" is a failure, never a removal
    ("unrecognised", "error_page", page("Error", "<h1>Internal server error</h1><p>The page was not found "
                                        "because our server failed.</p>")),
    # empty script applications
    ("unrecognised", "app_shell", page("Shop", '<div id="root"></div>',
                                       head='<script src="/static/js/main.js"></script>', frame=False)),
    ("unrecognised", "app_shell", page("Shop", '<div id="__next"></div><script id="__NEXT_DATA__" '
                                       'type="application/json">{"props":{}}</script>', frame=False)),
    ("unrecognised", "app_shell", page("Shop", "<noscript>You need to enable JavaScript to run this app."
                                       "</noscript>", frame=False)),
    # a consent page and nothing else
    ("unrecognised", "consent_wall", page("Before you continue", "<h1>Before you continue</h1><p>We use cookies "
                                          "and data to deliver our services.</p><button>Accept all</button>",
                                          frame=False)),
    # "not found" in many languages
    ("gone", "not_found", page("Page not found", "<h1>Page not found</h1><p>Sorry, we couldn't find that page.</p>")),
    ("gone", "not_found", page("404", "<h1>Oops! That page can't be found.</h1>")),
    ("gone", "not_found", page("Shop", "<h1>Seite nicht gefunden</h1>", "de")),
    ("gone", "not_found", page("Boutique", "<h1>Page introuvable</h1>", "fr")),
    ("gone", "not_found", page("Tienda", "<h1>Página no encontrada</h1>", "es")),
    ("gone", "not_found", page("Negozio", "<h1>Pagina non trovata</h1>", "it")),
    ("gone", "not_found", page("Winkel", "<h1>Pagina niet gevonden</h1>", "nl")),
    ("gone", "not_found", page("Loja", "<h1>Página não encontrada</h1>", "pt")),
    ("gone", "not_found", page("ショップ", "<h1>ページが見つかりません</h1>", "ja")),
    ("gone", "not_found", page("商店", "<h1>页面不存在</h1>", "zh")),
    # the product of this URL is gone for good
    ("gone", "no_longer_available", page("Shop", "<h1>This product is no longer available</h1>"
                                         "<p>Browse similar items in our catalogue.</p>")),
    ("gone", "no_longer_available", page("Shop", "<h1>Dieser Artikel ist leider nicht mehr verfügbar</h1>", "de")),
    ("gone", "no_longer_available", page("Boutique", "<h1>Ce produit n'est plus disponible</h1>", "fr")),
    ("gone", "no_longer_available", page("Tienda", "<h1>El producto ya no está disponible</h1>", "es")),
    ("gone", "no_longer_available", page("Negozio", "<h1>Questo prodotto non è più disponibile</h1>", "it")),
    ("gone", "no_longer_available", page("Winkel", "<h1>Dit product is niet meer leverbaar</h1>", "nl")),
    # challenges
    ("challenge", "bot_check", page("Just a moment...", "<h1>Checking your browser before accessing the shop.</h1>",
                                    frame=False)),
    ("challenge", "captcha", page("Robot Check", "<p>Enter the characters you see below</p><form><input name='c'>"
                                  "</form>", frame=False)),
]


def _id(case) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize(("kind", "reason", "html"), CASES, ids=[_id(c) for c in CASES])
def test_a_page_that_is_not_the_product_says_what_it_is(kind, reason, html):
    ex = extract_product(html, "https://shop.example/products/kettle")
    assert (ex.page_kind, ex.page_reason) == (kind, reason), ex.rules
    assert ex.price is None and ex.availability == "unknown"
    verdict = decide(200, "https://shop.example/products/kettle", None, False, ex)
    if kind == "gone":
        assert (verdict.kind, verdict.reason) == ("removed", reason)
    else:
        assert (verdict.kind, verdict.reason) == ("failed", reason)


@pytest.mark.parametrize("name", [n for n, _ in pagekind.NOT_PRODUCT_RULES])
def test_every_page_kind_rule_is_needed(name, monkeypatch):
    """Without the rule, the pages it stands for read otherwise."""
    reason = name.removeprefix("kind.")
    mine = [c for c in CASES if c[1] == reason]
    if reason == "listing":
        mine = [("gone", "listing", page("Kitchen", '<h1>Kitchen</h1><ul class="grid">' + "".join(
            f'<li class="card"><a href="/p/{i}"><img src="/{i}.jpg"> Widget number {i}</a>'
            f'<span class="price">${10 + i}.99</span></li>' for i in range(8)) + "</ul>"))]
    assert mine, name
    monkeypatch.setattr(pagekind, "NOT_PRODUCT_RULES", tuple(r for r in pagekind.NOT_PRODUCT_RULES if r[0] != name))
    for kind, why, html in mine:
        ex = extract_product(html, "https://shop.example/products/kettle")
        assert (ex.page_kind, ex.page_reason) != (kind, why), (name, html[:200])


def test_a_product_page_in_the_same_frame_is_a_product():
    """The frame's "Sign in", country picker and cookie notice never make a product a wall."""
    html = page("Acme Kettle", '<div class="product"><h1>Acme Kettle</h1><div class="price">$39.00</div>'
                               '<button class="add-to-cart">Add to cart</button></div>')
    ex = extract_product(html, "https://shop.example/products/kettle")
    assert (ex.page_kind, ex.price, ex.availability) == ("product", __import__("decimal").Decimal("39.00"), "in_stock")
