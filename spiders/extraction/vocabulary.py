"""Every word list and threshold the extraction decides with, named, in one place.

Word lists are regex fragments matched case-insensitively on whitespace-normalised text, in
every language pricehound reads (English, German, French, Spanish, Italian, Dutch, Portuguese,
the Nordic languages, Polish, Czech, Romanian, Turkish, Russian, Arabic, Hebrew, Japanese,
Chinese, Korean, and a few more where shops commonly write them).  A rule elsewhere says how a
list is used and why; this module only says what the words are.
"""

from __future__ import annotations

# ---------------------------------------------------------------- page kinds: what a page says it is
# Only read from where a page states what it is: its <title>, its headings, its notices (alerts,
# messages) and, on a short page, its whole visible text.  Never from a page that shows a product.

NOT_FOUND_PHRASES = [
    r"page not found", r"(?:page|product|item|article) (?:was )?not found", r"^not found$", r"^404\b", r"\b404\b.{0,12}(?:error|not found|page)",
    r"(?:error|erreur|fehler|página|pagina|seite) 404", r"(?:page|product|item) (?:could not|cannot|can'?t|couldn'?t) be found",
    r"(?:we|i) (?:can'?t|cannot|could ?n[o']t) find (?:the|that|this|what)", r"(?:this|the) page (?:does not|doesn'?t|no longer) exists?",
    r"(?:product|item|page) (?:does not|doesn'?t) exist", r"no such (?:page|product|item)", r"nothing (?:was )?found (?:here|at this address)",
    r"seite (?:wurde )?nicht gefunden", r"(?:artikel|produkt) (?:wurde )?nicht gefunden", r"diese seite existiert nicht",
    r"page (?:introuvable|non trouvée|inexistante)", r"produit (?:introuvable|non trouvé)", r"cette page n'existe pas",
    r"página no encontrada", r"producto no encontrado", r"esta página no existe", r"pagina non trovata", r"prodotto non trovato",
    r"pagina niet gevonden", r"product niet gevonden", r"página não encontrada", r"produto não encontrado",
    r"sidan (?:kunde inte hittas|hittades inte)", r"siden (?:blev ikke fundet|ble ikke funnet|finnes ikke)", r"sivua ei löytynyt",
    r"nie znaleziono (?:strony|produktu)", r"strona nie istnieje", r"stránka nebyla nalezena", r"stránka neexistuje",
    r"pagina nu a fost găsită", r"sayfa bulunamadı", r"страница не найдена", r"товар не найден", r"הדף לא נמצא",
    r"الصفحة غير موجودة", r"لم يتم العثور على (?:الصفحة|المنتج)", r"ページが見つかりません", r"ページは見つかりませんでした",
    r"お探しのページ", r"找不到(?:页面|頁面|该页面|商品)", r"页面不存在", r"頁面不存在", r"페이지를 찾을 수 없습니다",
    r"halaman tidak ditemukan", r"không tìm thấy trang", r"ไม่พบหน้า",
]

# A page saying that the product of this URL is gone for good.  Counts only on a page that shows
# no product: the same words beside a price and a title are an out-of-stock product page.
NO_LONGER_AVAILABLE_PHRASES = [
    r"(?:product|item|article|listing|page) (?:you (?:are|were) looking for )?(?:is |has )?no longer (?:available|exists?|for sale|sold|offered|listed)",
    r"(?:this|the) (?:product|item|listing|article) (?:has been|was|is) (?:removed|discontinued|deleted|withdrawn)",
    r"no longer (?:part of|in) our (?:range|catalog(?:ue)?|assortment|collection)", r"this listing (?:has|was) ended",
    r"(?:artikel|produkt|angebot) (?:ist )?(?:leider )?nicht mehr (?:verfügbar|erhältlich|lieferbar|im sortiment|vorhanden)",
    r"nicht mehr im sortiment", r"(?:ce )?produit n'est plus (?:disponible|commercialisé|vendu|référencé)",
    r"(?:produit|article|page) n'existe plus", r"(?:el |este )?(?:producto|artículo) ya no (?:está disponible|existe)",
    r"(?:questo )?(?:prodotto|articolo) non è più disponibile", r"(?:dit )?(?:product|artikel) is niet meer (?:leverbaar|beschikbaar|verkrijgbaar)",
    r"(?:este )?(?:produto|item) não está mais disponível", r"(?:produkt|towar) nie jest już dostępny", r"produkt již není k dispozici",
    r"ürün artık (?:mevcut değil|satışta değil)", r"товар (?:больше не доступен|снят с продажи)", r"販売(?:を|は)?終了(?:しました|いたしました)",
    r"取り扱いを終了", r"商品已下架", r"该商品已下架", r"商品不存在", r"판매(?:가)? 종료된 상품", r"المنتج (?:لم يعد متوفرا|غير موجود)",
]

MAINTENANCE_PHRASES = [
    r"under maintenance", r"down for maintenance", r"(?:scheduled|planned|routine) maintenance", r"maintenance mode",
    r"(?:undergoing|performing|doing) (?:some )?maintenance", r"we(?:'ll| will) be back (?:soon|shortly|online)", r"be right back",
    r"temporarily (?:closed|offline|down)", r"(?:store|shop|site|website) is (?:currently |temporarily )?(?:closed|offline|unavailable)",
    r"closed for (?:the )?(?:holidays?|vacation|christmas|summer|inventory)", r"holiday (?:closure|break)", r"opening soon",
    r"password protected", r"enter (?:store|using) (?:using )?password",
    r"wartungsarbeiten", r"wartungsmodus", r"wegen wartung", r"wir sind (?:gleich|bald) wieder (?:da|zurück|für sie da)",
    r"betriebsferien", r"(?:shop|geschäft) (?:ist )?(?:vorübergehend |derzeit )?geschlossen", r"urlaubspause",
    r"en (?:cours de )?maintenance", r"maintenance en cours", r"de retour (?:très )?(?:bientôt|rapidement)",
    r"fermeture (?:annuelle|exceptionnelle|temporaire)", r"boutique (?:est )?(?:temporairement |actuellement )?fermée",
    r"en mantenimiento", r"mantenimiento programado", r"volvemos (?:pronto|enseguida|en breve)", r"tienda (?:está )?(?:temporalmente )?cerrada",
    r"cerrado por vacaciones", r"in manutenzione", r"manutenzione programmata", r"torniamo presto", r"chiuso per ferie",
    r"(?:wegens|in) onderhoud", r"we zijn (?:zo|snel) (?:weer )?terug", r"em manutenção", r"voltamos (?:em breve|logo)",
    r"loja (?:está )?(?:temporariamente )?fechada", r"przerwa techniczna", r"prace konserwacyjne", r"probíhá údržba",
    r"bakım çalışması", r"bakımdayız", r"технические работы", r"сайт на обслуживании", r"underhållsarbete", r"vedligeholdelse",
    r"メンテナンス中", r"システムメンテナンス", r"系统维护", r"系統維護", r"维护中", r"維護中", r"시스템 점검", r"점검 중",
    r"قيد الصيانة", r"أعمال صيانة", r"sedang dalam perbaikan", r"đang bảo trì",
]

QUEUE_PHRASES = [
    r"you are (?:now )?in (?:the |a )?(?:virtual )?(?:queue|line)", r"virtual (?:queue|waiting room|line)", r"waiting room",
    r"queue-?it", r"estimated wait(?:ing)? time", r"your (?:place|position|number) in (?:the )?(?:queue|line)",
    r"you(?:'re| are) in line", r"high (?:demand|traffic).{0,60}(?:queue|line|wait)", r"warteschlange", r"warteraum",
    r"file d'attente", r"salle d'attente", r"cola virtual", r"sala de espera", r"fila (?:de espera|virtual)",
    r"coda virtuale", r"sala d'attesa", r"wachtrij", r"wachtkamer", r"kolejka", r"順番待ち", r"待機列", r"排队", r"대기열",
    r"очередь", r"sıradasınız",
]

GEO_BLOCK_PHRASES = [
    r"(?:is|are|isn'?t|aren'?t) (?:not )?available in your (?:country|region|location|area)",
    r"not available in your (?:country|region|location|area)", r"unavailable in your (?:country|region|location)",
    r"(?:do(?:es)?n'?t|do(?:es)? not|cannot|can'?t) (?:ship|deliver|sell) (?:to|in) your (?:country|region|location)",
    r"access (?:from|in) your (?:country|region|location) (?:is|has been) (?:restricted|blocked|denied|not allowed)",
    r"(?:select|choose) your (?:country|region|location|shipping destination)", r"(?:select|choose) (?:a |your )?(?:country|region) (?:and|/) (?:language|currency)",
    r"where (?:are you|would you like to) (?:shop(?:ping)?|ship(?:ping)?)", r"geo-?(?:block|restrict)",
    r"in (?:ihrem|deinem) land nicht verfügbar", r"(?:wählen|wähle) (?:sie )?(?:ihr|dein) (?:land|lieferland)", r"land (?:und sprache )?(?:wählen|auswählen)",
    r"pas disponible dans votre (?:pays|région)", r"(?:choisissez|sélectionnez) votre (?:pays|région)",
    r"no (?:está )?disponible en (?:tu|su) (?:país|región)", r"(?:selecciona|elige|seleccione) (?:tu|su) (?:país|región)",
    r"non disponibile nel tuo paese", r"seleziona (?:il tuo )?paese", r"niet beschikbaar in (?:uw|jouw) land", r"kies (?:uw|je) land",
    r"não (?:está )?disponível no seu país", r"(?:selecione|escolha) (?:o )?seu país", r"国・地域を選択", r"国を選択",
    r"选择(?:您的)?(?:国家|地区)", r"選擇(?:您的)?(?:國家|地區)", r"국가(?:를)? 선택", r"выберите (?:вашу )?страну",
]

LOGIN_WALL_PHRASES = [
    r"(?:please )?(?:log ?in|sign ?in)(?: (?:to|in order to) (?:continue|view|see|access|shop|proceed))",
    r"(?:you must|you need to|please) (?:be )?(?:log(?:ged)? ?in|sign(?:ed)? ?in)", r"login required", r"sign-?in required",
    r"members? only", r"(?:log|sign) in to (?:see|view) (?:the )?(?:price|prices|rate)",
    r"bitte (?:melden sie sich an|einloggen|anmelden)", r"(?:jetzt )?anmelden,? um", r"connectez-vous pour",
    r"identifiez-vous pour", r"inicia(?:r)? sesión para", r"accedi per", r"log in om", r"faça (?:o )?login para",
    r"zaloguj się, aby", r"přihlaste se pro", r"войдите,? чтобы", r"ログインしてください", r"请先登录", r"登录后(?:查看|才能|可见)",
    r"로그인(?:이 필요|해 주세요|하세요)",
]
# The heading of a sign-in form: a login wall only where the page also asks for a password.
LOGIN_HEADINGS = [
    r"^(?:customer |account )?(?:log ?in|sign ?in)$", r"^(?:log|sign) in to your account$", r"^anmelden$", r"^einloggen$",
    r"^connexion$", r"^(?:se connecter|identifiez-vous|connectez-vous)$", r"^iniciar sesión$", r"^accedi$", r"^inloggen$",
    r"^entrar$", r"^zaloguj się$", r"^giriş yap$", r"^вход$", r"^ログイン$", r"^登录$", r"^로그인$",
]

AGE_GATE_PHRASES = [
    r"are you (?:over |at least )?(?:18|19|20|21)", r"(?:are you|you must be) (?:of )?(?:legal )?(?:drinking |smoking |purchase )?age",
    r"age verification", r"verify (?:your|that you are of legal) age", r"(?:enter|confirm) your (?:date of birth|birth ?date|age)",
    r"you must be (?:at least |over )?(?:18|19|20|21)", r"(?:18|21)\+ only", r"legal drinking age", r"altersverifi\w*",
    r"alterskontrolle", r"altersprüfung", r"(?:sind sie|bist du) (?:mindestens |über )?18", r"vérification (?:de l'|d')âge",
    r"(?:êtes-vous|avez-vous) (?:majeur|plus de 18)", r"verificación de edad", r"(?:eres|es usted) mayor de edad",
    r"verifica (?:dell')?età", r"sei maggiorenne", r"leeftijdscontrole", r"ben je (?:18|ouder dan 18)", r"verificação de idade",
    r"(?:você )?(?:é|tem) maior de (?:18|idade)", r"weryfikacja wieku", r"年齢確認", r"20歳以上", r"年龄验证", r"年齡驗證",
    r"성인 ?인증", r"вам (?:уже )?(?:есть )?18", r"yaş doğrulama",
]

RATE_LIMITED_PHRASES = [
    r"too many requests", r"rate limit(?:ed| exceeded)?", r"^429\b", r"\b429\b.{0,20}(?:error|too many|requests)", r"error 429",
    r"(?:you have|you'?ve) (?:sent|made) too many", r"request limit (?:reached|exceeded)", r"slow down",
    r"zu viele anfragen", r"trop de requêtes", r"demasiadas (?:solicitudes|peticiones)", r"troppe richieste",
    r"te veel (?:verzoeken|aanvragen)", r"(?:muitas|demasiadas) (?:solicitações|requisições)", r"zbyt wiele (?:żądań|zapytań)",
    r"リクエストが多すぎ", r"请求(?:过多|过于频繁|太频繁)", r"요청이 너무 많", r"слишком много запросов",
]

ERROR_PAGE_PHRASES = [
    r"internal server error", r"server error", r"^50[0234]\b", r"\b50[0234]\b.{0,20}(?:error|unavailable|gateway)",
    r"(?:error|erreur|fehler) 50[0234]", r"service (?:temporarily )?unavailable", r"bad gateway", r"gateway time-?out",
    r"something went wrong", r"an (?:unexpected |internal )?error (?:has )?occurred", r"(?:unexpected|application|fatal|database) error",
    r"(?:we'?re|we are) (?:having|experiencing) (?:some )?(?:technical )?(?:problems|difficulties|issues|trouble)",
    r"technical (?:problems|difficulties|issues)", r"error establishing", r"(?:sorry|oops)[,!.]* (?:there was an error|an error)",
    r"ein (?:unerwarteter |interner )?fehler ist aufgetreten", r"(?:interner )?serverfehler", r"technische (?:probleme|störung)",
    r"une erreur (?:est survenue|s'est produite|inattendue)", r"erreur (?:interne|serveur|technique)",
    r"(?:se ha producido|ha ocurrido|ocurrió) un error", r"error (?:interno|del servidor)", r"si è verificato un errore",
    r"errore (?:interno|del server)", r"er is (?:iets )?(?:fout ?gegaan|een fout opgetreden)", r"(?:ocorreu|houve) um erro",
    r"algo deu errado", r"wystąpił (?:nieoczekiwany )?błąd", r"došlo k chybě", r"bir hata oluştu", r"произошла ошибка",
    r"ошибка сервера", r"エラーが発生しました", r"システムエラー", r"服务器错误", r"伺服器錯誤", r"出错了", r"系统繁忙",
    r"오류가 발생", r"حدث خطأ", r"terjadi kesalahan",
]

CONSENT_WALL_PHRASES = [
    r"before you continue", r"we (?:value|care about|respect) your privacy", r"(?:accept|agree to|allow) (?:all )?cookies",
    r"cookie (?:settings|preferences|consent|policy)", r"(?:this|our) (?:site|website) uses cookies", r"manage (?:your )?consent",
    r"datenschutz-?einstellungen", r"cookies? (?:akzeptieren|zustimmen|erlauben)", r"wir (?:verwenden|nutzen) cookies",
    r"accepter (?:les |tous les )?cookies", r"(?:ce site|nous) utilis(?:e|ons) des cookies", r"aceptar (?:todas las )?cookies",
    r"(?:usamos|utilizamos) cookies", r"accetta (?:tutti i )?cookie", r"(?:utilizziamo|usiamo) (?:i )?cookie",
    r"cookies accepteren", r"(?:wij )?gebruiken cookies", r"aceitar (?:todos os )?cookies", r"(?:usamos|utilizamos) cookies",
    r"akceptuj(?:ę)? (?:wszystkie )?(?:pliki )?cookies", r"çerezleri kabul", r"クッキー", r"接受(?:所有)?cookie", r"쿠키",
]

JAVASCRIPT_REQUIRED_PHRASES = [
    r"(?:enable|turn on|activate) javascript", r"javascript (?:is )?(?:required|disabled|must be enabled|needs to be enabled)",
    r"you need to enable javascript", r"requires javascript", r"javascript aktivieren", r"aktivieren sie javascript",
    r"activez (?:le )?javascript", r"habilita(?:r)? (?:el )?javascript", r"attiva(?:re)? javascript", r"javascript inschakelen",
    r"ative o javascript", r"javascript(?:を|が)有効", r"启用\s*javascript", r"включите javascript",
]

# Bot checks and captchas: in the title of a small page, or in its markup.
CHALLENGE_TITLE_PHRASES = [
    r"just a moment", r"attention required", r"access denied", r"access to this page has been denied",
    r"pardon our interruption", r"robot check", r"are you a (?:robot|human)", r"security check", r"captcha",
    r"verify you are (?:a )?human", r"ddos-guard", r"one more step", r"request unsuccessful", r"you have been blocked",
    r"bot verification", r"checking your browser", r"please wait while we verify", r"human verification",
    r"please enable cookies", r"sorry, you have been blocked", r"forbidden",
]
CHALLENGE_BODY_MARKERS = [
    r"cf-browser-verification", r"cf_chl_", r"/cdn-cgi/challenge-platform", r"challenge-form", r"px-captcha",
    r"_incapsula_resource", r"distil_r_captcha", r"captcha-delivery\.com", r"geo\.captcha", r"perimeterx", r"datadome",
    r"verify you are human", r"are you a robot", r"unusual traffic", r"automated access",
    r"enter the characters you see below", r"why have i been blocked", r"cf-error-details",
]
# A captcha widget's markup: on a page with almost no text, the widget is the page.
CAPTCHA_WIDGET_MARKERS = [r"g-recaptcha", r"h-captcha", r"recaptcha/api\.js", r"hcaptcha\.com"]
# What makes a challenge a captcha (a puzzle for a person) rather than a silent bot check.
CAPTCHA_MARKERS = CAPTCHA_WIDGET_MARKERS + [r"captcha", r"enter the characters you see"]

# The markup of a page a script fills in: a root element for the app, nothing to read in it.
APP_ROOT_IDS = ("root", "app", "__next", "__nuxt", "___gatsby", "main-app", "app-root", "application", "svelte")

# Class, id or role words of the blocks a page states what it is in (alerts, messages, empty states).
NOTICE_CLASS = r"alert|notice|message|error|empty|not-?found|no-?results|404|maintenance|warning|status|callout|info-?box"

# Class or id tokens of the store's frame around every page (header, navigation, footer).
CHROME_CLASS = (r"^(?:(?:site|page|global|main|top|store|shop)[-_])?(?:header|footer|nav|navbar|navigation|menu|"
                r"megamenu|mega-menu|topbar|top-bar|utility-bar|announcement-bar|breadcrumbs?|cookie\w*|consent\w*)(?:[-_].*)?$")

# ---------------------------------------------------------------- page-kind thresholds
CHALLENGE_TITLE_MAX_TEXT = 20_000  # a challenge title counts on a page with less visible text than this
CHALLENGE_BODY_MAX_TEXT = 5_000  # challenge markup counts on a page with less visible text than this
CAPTCHA_WIDGET_MAX_TEXT = 800  # a bare captcha widget counts on a page with less visible text than this
CHALLENGE_HEAD_CHARS = 200_000  # how much of the markup is searched for challenge markers
SHORT_PAGE_TEXT = 2_500  # a page with less visible text than this states what it is in all of it
LEAD_CHARS = 2_500  # how much of a page's visible text is read for what it states
MAIN_TEXT_READ = 60_000  # visible text measured, at most (a page this long is long)
APP_SHELL_MAX_TEXT = 200  # an app shell shows less visible text than this
# A store is advised to render (spiders/render_advice.py) when at least this many of a run's pages,
# and at least this share of the pages it read, came back as app shells or as script pages
# without product data: one odd page is a broken page, most pages is how the store is built.
RENDER_ADVICE_MIN_PAGES = 1
RENDER_ADVICE_SHARE = 0.5
HEADINGS_READ = 12  # headings (h1-h3) read for a statement
NOTICES_READ = 30  # notice blocks read for a statement
NOTICE_MAX_TEXT = 400  # a notice longer than this is content, not a statement

# ---------------------------------------------------------------- prices that are not the one a buyer pays
# The label before an amount (or the words right after it) naming a price that is not the page's
# own offer: another condition or seller, a member or subscription price, an add-on, an estimate.
OTHER_OFFER_LABELS = [
    r"\bused\b", r"pre-?owned", r"refurbished", r"renewed", r"open[- ]box", r"second[- ]hand", r"\bother sellers?\b",
    r"marketplace", r"(?:new|used) (?:&|and) used", r"from \d+ sellers?", r"\bgebraucht", r"generalüberholt", r"b-?ware",
    r"\boccasion\b", r"reconditionné", r"d'occasion", r"\busado\b", r"reacondicionado", r"seminuevo", r"\busato\b",
    r"ricondizionato", r"\bgebruikt\b", r"refurbished", r"\busado\b", r"recondicionado", r"中古", r"二手", r"중고",
    r"б/у", r"уценка",
]
MEMBER_PRICE_LABELS = [
    r"member(?:s|ship)?(?:'s)?\s*(?:only\s*)?(?:price|deal|pricing)", r"\bfor members\b", r"club (?:price|card)",
    r"loyalty (?:price|card)", r"with (?:your )?(?:membership|card|prime|plus)\b", r"prime (?:price|exclusive)",
    r"subscribe (?:&|and) save", r"with subscription", r"subscription price", r"auto-?ship", r"autodelivery",
    r"repeat delivery", r"mitglieder(?:preis)?", r"clubpreis", r"kundenkarte", r"im abo", r"abo-?preis",
    r"prix (?:adhérent|membre|fidélité|abonné)", r"precio (?:socio|miembro|afiliado)", r"prezzo (?:soci|membri)",
    r"ledenprijs", r"preço (?:sócio|membro)", r"会員価格", r"会员价", r"회원가",
]
ADDON_LABELS = [
    r"protection plan", r"(?:extended )?warranty", r"care ?pack", r"applecare", r"insurance", r"gift ?wrap",
    r"installation (?:service|fee)?", r"assembly", r"garantieverlängerung", r"versicherung", r"garantie (?:étendue|prolongée)",
    r"garantía extendida", r"garanzia estesa", r"保証",
]
ESTIMATE_LABELS = [
    r"estimate[ds]?", r"\best\.", r"schätzpreis", r"schätzung", r"estimation", r"estimación", r"stima", r"taxatie", r"見積",
]
OWN_LABEL_CHARS = 24  # the words this close before (or after) an amount are its own label

# Labels that name the amount a buyer pays now on an auction or classified page.
CURRENT_BID_LABELS = [
    r"current bid", r"winning bid", r"starting bid", r"asking price", r"buy it now", r"aktuelles gebot", r"startpreis",
    r"enchère actuelle", r"puja actual", r"offerta attuale", r"huidig bod", r"lance atual", r"現在価格", r"当前出价",
]

# ---------------------------------------------------------------- stock statements
# A stock word negated ("not sold out", "no longer out of stock", "nicht ausverkauft"): the
# product can be bought.  The negation sits right before the out-of-stock words.
NEGATED_OUT_OF_STOCK = [
    r"(?:not|no longer|never|isn'?t|is not|aren'?t|no more)\s+(?:yet\s+)?(?:sold[- ]?out|out[- ]of[- ]stock)",
    r"(?:nicht|nicht mehr|kein)\s+(?:mehr\s+)?(?:ausverkauft|vergriffen)", r"(?:pas|plus)\s+(?:encore\s+)?épuisé",
    r"(?:no|ya no)\s+(?:está\s+)?agotado", r"non\s+(?:più\s+)?esaurito", r"niet\s+(?:meer\s+)?uitverkocht",
    r"não\s+(?:está\s+)?esgotado",
]
# Boasts and news about stock that say the product can be bought now ("sells out fast", "only 2
# left", "back in stock!"), never that it is sold out.
STOCK_BOASTS = [
    r"sells? out (?:fast|quickly|often|every)", r"selling (?:out )?fast", r"(?:almost|nearly|about to|soon|going to|will) "
    r"(?:be )?sell?(?:ing)? out", r"(?:almost|nearly) (?:sold[- ]?out|gone|out of stock)", r"sold out soon",
    r"before (?:it|they)(?:'s| is| are)? (?:sells?|sold) out", r"(?:was|were|has been|had been) (?:previously )?sold[- ]?out",
    r"sold out \d+ times", r"back in stock(?! soon)", r"(?:now )?restocked", r"going fast", r"(?:bald|fast|schnell) ausverkauft",
    r"wieder (?:auf lager|verfügbar|da)", r"(?:bientôt|presque) épuisé", r"de retour en stock", r"(?:casi|pronto) agotado",
    r"de nuevo en stock", r"(?:quasi|presto) esaurito", r"di nuovo disponibile", r"(?:bijna|snel) uitverkocht",
    r"weer (?:op voorraad|leverbaar)", r"(?:quase|logo) esgotado", r"de volta ao estoque", r"残りわずか", r"再入荷しました",
]
# Asking to be told when it is back: the product is sold out now, whatever boast follows.
NOTIFY_WHEN_BACK = [
    r"notify me", r"email me", r"alert me", r"let me know", r"tell me when", r"benachrichtig", r"erinnern sie mich",
    r"prévenez-moi", r"m'alerter", r"avísame", r"avvisami", r"houd me op de hoogte", r"avise-me", r"入荷(?:お知らせ|通知)",
]
# Stock words in a service's name ("out-of-stock alerts", "restock notifications"): no statement.
STOCK_SERVICE_NAMES = [r"(?:out[- ]of[- ]stock|stock|restock|back[- ]in[- ]stock|availability) (?:alerts?|notifications?|emails?|updates)"]
# Sold-out wording about one variant ("M – sold out", "Sold out in Red", "épuisé en taille 42"):
# never the whole product.
VARIANT_SCOPED_OUT = [
    r"^\s*(?:size\s+)?[\w./]{1,8}\s*[-–—:(/|]\s*(?:sold[- ]?out|out of stock|unavailable|ausverkauft|épuisé|agotado|esaurito|uitverkocht|esgotado)\)?\s*$",
    r"(?:sold[- ]?out|out of stock|unavailable) (?:in|for) (?:this |the |that |selected |some |certain )?(?:size|colou?r|style|option|variant|(?-i:[A-Z][a-z]+\b))",
    r"(?:in (?:this|der|dieser) )?(?:größe|farbe|variante)\s+\S+\s+(?:ausverkauft|nicht verfügbar)",
    r"(?:ausverkauft|nicht verfügbar) in (?:größe|farbe|dieser)", r"épuisé (?:en|dans (?:cette|la)) (?:taille|couleur|pointure)",
    r"agotado en (?:talla|color|este)", r"esaurito (?:nella|in) (?:taglia|colore)", r"uitverkocht in (?:maat|kleur)",
    r"esgotado (?:no|na|em) (?:tamanho|cor)", r"(?:some|selected|certain) (?:sizes|colou?rs|options|variants) (?:are )?(?:sold[- ]?out|unavailable|out of stock)",
]
# Class words of a disabled control: a buy button marked so cannot be pressed.
DISABLED_CLASS = r"(?:^|[\s_-])(?:disabled|is-disabled|inactive|sold-?out|unavailable|out-?of-?stock)(?:$|[\s_-])"

NEAR_BUY_BOX = 10  # stock wording this close (tree steps) to the title, price or button is the product's
FAR_BUY_BOX = 16  # wording this close confirms what structured data says; it never overrules it
NEAR_TITLE = 12  # a price this close to the title is beside it
NEAR_BUTTON = 10  # a price this close to the buy button is beside it
BUTTON_NEAR_ANCHOR = 14  # a buy button this close to the title or price belongs to the product
BUY_BOX_LEVELS = 3  # levels the buy box is widened by above the title, price and button
BUY_BOX_CHARS = 6000  # a block with more text than this is the page, not its buy box

# ---------------------------------------------------------------- variants
# URL query parameters that select a variant of a product page.
VARIANT_PARAMS = frozenset({
    "variant", "variantid", "variant_id", "sku", "skuid", "sku_id", "size", "color", "colour", "option", "style",
    "pid", "vid", "item", "itemid", "article", "model", "groesse", "größe", "farbe", "taille", "couleur", "talla",
    "taglia", "colore", "maat", "kleur", "tamanho", "cor",
})

# ---------------------------------------------------------------- script state (scriptstate.py)
STATE_NAME_KEYS = ("name", "title", "productName", "product_name", "item_name", "displayName", "productTitle")
STATE_PRICE_KEYS = ("price", "salePrice", "sale_price", "finalPrice", "final_price", "currentPrice", "current_price",
                    "sellingPrice", "selling_price", "offerPrice", "specialPrice", "special_price", "priceValue",
                    "price_amount", "priceAmount", "activePrice", "unitPrice")
STATE_REGULAR_KEYS = ("compare_at_price", "compareAtPrice", "listPrice", "list_price", "originalPrice",
                      "original_price", "regularPrice", "regular_price", "oldPrice", "old_price", "wasPrice", "msrp")
STATE_AMOUNT_KEYS = ("amount", "value", "current", "raw", "final", "price", "centAmount")
STATE_CURRENCY_KEYS = ("currency", "currencyCode", "currency_code", "priceCurrency", "currencyIso", "currencyISO")
STATE_AVAILABILITY_KEYS = ("availability", "availabilityStatus", "stockStatus", "stock_status", "inventoryStatus",
                           "inventory_status", "stockState", "stockLevelStatus", "status")
STATE_IN_STOCK_FLAGS = ("inStock", "in_stock", "isInStock", "is_in_stock", "available", "isAvailable", "is_available",
                        "purchasable", "isPurchasable", "buyable", "orderable")
STATE_OUT_FLAGS = ("soldOut", "sold_out", "isSoldOut", "is_sold_out", "outOfStock", "out_of_stock", "isOutOfStock")
SCRIPT_NAME_OVERLAP = 0.6  # a script record is the page's product when named this much like its title

# ---------------------------------------------------------------- stock and buy wording (availability.py)
# Visible phrases, most specific first.  Each is a regex fragment matched case-insensitively on
# whitespace-normalised text.
BACKORDER_PHRASES = [
    r"back[- ]?order(?:ed)?", r"ship(?:s)? when (?:it'?s|it is|they'?re|available)",
    r"we'?ll ship (?:it )?when",
]
INSTORE_ONLY_PHRASES = [
    r"(?:available |sold )?in[- ]store(?:s)? only", r"only (?:available )?in (?:our )?stores?",
    r"not (?:available|sold) online", r"nur im (?:geschäft|markt|laden|handel)",
    r"uniquement en magasin",
]
OUT_OF_STOCK_PHRASES = [
    r"sold[- ]?out", r"out[- ]of[- ]stock", r"no longer available", r"currently (?:not )?unavailable",
    r"currently not available", r"temporarily unavailable", r"is unavailable", r"item unavailable",
    r"product (?:is )?(?:currently )?(?:not available|unavailable)",
    r"this item is (?:currently )?(?:not available|unavailable|out of stock)",
    r"discontinued", r"no stock", r"not in stock", r"notify me when (?:it'?s |it is )?(?:back|available)",
    r"email me when (?:it'?s |it is )?(?:back|available)", r"back in stock soon",
    r"ausverkauft", r"nicht (?:mehr )?verfügbar", r"nicht (?:mehr )?lieferbar", r"nicht auf lager",
    r"derzeit nicht (?:verfügbar|lieferbar|vorrätig)", r"nicht vorrätig", r"vergriffen",
    r"nicht in der gewünschten menge", r"zur zeit nicht", r"rupture de stock", r"épuisé",
    r"indisponible", r"(?:plus|non|pas) disponible", r"agotado", r"sin (?:stock|existencias)",
    r"no disponible", r"esgotado", r"indisponível", r"esaurito", r"non disponibile",
    r"uitverkocht", r"niet (?:meer )?(?:leverbaar|beschikbaar)", r"slutsåld", r"udsolgt",
    r"utsolgt", r"wyprzedane", r"brak w magazynie", r"нет в наличии", r"stokta yok",
    r"نفذ", r"نفدت", r"غير متوفر", r"غير متاح", r"نفاد", r"在庫切れ", r"売り切れ", r"品切れ",
    r"販売終了", r"在庫なし", r"缺货", r"售罄", r"품절",
    r"hors stock", r"plus en stock", r"en rupture", r"fuera de stock", r"sin unidades", r"fora de estoque",
    r"sem estoque", r"não disponível", r"non (?:è )?più disponibile", r"niet op voorraad", r"tijdelijk uitverkocht",
    r"niedostępny", r"produkt niedostępny", r"chwilowo niedostępny", r"brak towaru", r"vyprodáno", r"není skladem",
    r"nedostupné", r"slut i lager", r"tillfälligt slut", r"slutsåld", r"ikke på lager", r"midlertidigt udsolgt",
    r"ikke tilgjengelig", r"loppuunmyyty", r"ei varastossa", r"tilapäisesti loppu", r"nincs készleten", r"elfogyott",
    r"stoc epuizat", r"indisponibil", r"nu este (?:in|în) stoc", r"εξαντλήθηκε", r"μη διαθέσιμο", r"εκτός αποθέματος",
    r"tükendi", r"распродано", r"нет на складе", r"закончился", r"немає в наявності", r"відсутній", r"אזל מהמלאי",
    r"לא במלאי", r"אזל", r"已售完", r"无货", r"無貨", r"暂时缺货", r"售完", r"已售罄", r"缺貨", r"일시품절", r"재고 없음",
    r"สินค้าหมด", r"hết hàng", r"tạm hết", r"stok habis", r"stok kosong", r"kehabisan stok", r"tidak tersedia",
    r"habis terjual",
]
PREORDER_PHRASES = [
    r"pre[- ]?order", r"pre[- ]?sale", r"vorbestell", r"précommande", r"pré-commande",
    r"pre-?venta", r"preventa", r"reservar ahora", r"^reservar$", r"preordina", r"予約", r"طلب مسبق", r"예약",
]
IN_STOCK_PHRASES = [
    r"in stock", r"instock", r"available now", r"available to ship", r"ready to ship",
    r"(?:usually |normally )?ships (?:with)?in", r"ships (?:today|tomorrow|free)", r"in stock online",
    r"auf lager", r"(?:sofort )?lieferbar", r"sofort versand", r"versandfertig", r"vorrätig",
    r"en stock", r"disponible", r"en existencia", r"disponibilidad inmediata", r"em estoque",
    r"disponibile", r"op voorraad", r"på lager", r"w magazynie", r"в наличии", r"stokta",
    r"متوفر", r"متاح", r"في المخزون", r"在庫あり", r"在庫有り", r"有货", r"재고 있음",
    r"current stock:\s*[1-9]", r"only \d+ left", r"\d+ in stock",
    r"op voorraad", r"^(?:produkt )?dostępny$", r"dostępny od ręki", r"skladem", r"i lager", r"varastossa", r"raktáron",
    r"(?:în|in) stoc\b", r"^διαθέσιμο$", r"σε απόθεμα", r"в наявності", r"במלאי", r"còn hàng", r"stok tersedia",
    r"^tersedia$", r"มีสินค้า",
    r"现货", r"有現貨", r"有貨", r"stokta var",
]
BUY_PHRASES = [
    r"add to (?:shopping )?(?:cart|bag|basket|trolley|order)", r"add to my bag", r"buy now", r"buy it now",
    r"^buy$", r"^order now$", r"^purchase$", r"fast buy", r"in den (?:warenkorb|einkaufswagen)",
    r"jetzt kaufen", r"in den korb", r"ajouter au panier", r"^acheter", r"añadir al carrito",
    r"agregar al (?:carrito|carro)", r"añadir a la cesta", r"^comprar", r"aggiungi al carrello",
    r"^acquista", r"in winkelwagen", r"adicionar ao carrinho", r"lägg i varukorgen",
    r"カートに入れる", r"カートへ", r"今すぐ購入", r"購入する", r"加入购物车", r"立即购买",
    r"장바구니", r"اشتري الآن", r"اشتر الآن", r"أضف (?:إلى|الى|ل)ل?سلة", r"أضف للعربة",
    r"добавить в корзину", r"купить", r"sepete ekle", r"do koszyka",
    r"do košíku", r"koupit", r"læg i (?:indkøbs)?kurv", r"tilføj til kurv", r"legg i (?:handle)?kurv", r"lisää ostoskoriin",
    r"kosárba", r"adaugă (?:în|in) co[sș]", r"προσθήκη στο καλάθι", r"додати (?:в|до) кошик", r"купити", r"הוסף לסל",
    r"הוספה לסל", r"thêm vào giỏ", r"mua ngay", r"tambah(?:kan)? ke (?:keranjang|troli)", r"beli sekarang",
    r"หยิบใส่ตะกร้า", r"ใส่ตะกร้า", r"toevoegen aan (?:winkelwagen|winkelmand)", r"^bestellen$", r"^kaufen$",
    r"^köp$", r"^kjøp$", r"^osta$", r"^comprar ahora$", r"^acheter maintenant$", r"^compra ora$", r"adicionar à sacola",
]

