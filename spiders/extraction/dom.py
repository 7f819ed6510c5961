"""Decode and parse a page once; helpers shared by every extractor."""

from __future__ import annotations

import bisect
import codecs
import re
from dataclasses import dataclass, field
from itertools import accumulate, compress

from lxml import etree
from w3lib.encoding import html_to_unicode, resolve_encoding

MAX_BYTES = 4_000_000  # parse at most this much of a page: product data sits near the top
MAX_CHARS = 4_000_000

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)


def decode(html, encoding: str | None = None) -> str:
    """Bytes -> text: the caller's encoding, a BOM, <meta charset>, then UTF-8 or windows-1252."""
    if html is None:
        return ""
    if isinstance(html, str):
        return html[:MAX_CHARS]
    if not isinstance(html, (bytes, bytearray, memoryview)):
        return str(html)[:MAX_CHARS]
    body = bytes(html[:MAX_BYTES])
    if encoding:
        enc = resolve_encoding(encoding)
        if enc:
            try:
                return body.decode(enc, errors="replace")
            except LookupError:
                pass
    content_type = None
    if not body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        m = _META_CHARSET.search(body[:8192])
        if not m:
            # no declaration: strict UTF-8 if it decodes, else windows-1252 (a superset of latin-1)
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                content_type = "text/html; charset=cp1252"
    try:
        _enc, text = html_to_unicode(content_type, body)
    except Exception:  # noqa: BLE001 - a decoder must never take the chain down
        text = body.decode("utf-8", errors="replace")
    return text


MAX_ATTRIBUTES = 256  # per element: libxml2 checks each attribute against all earlier ones
_LONG_TAG = re.compile(r"<[A-Za-z][^<>]{4096,}>")  # only tags this long can hold that many
_CONTROL_IN_TAG = re.compile("<[\x00-\x08\x0b\x0e-\x1f\x7f]+")
_SCRIPT_EDGE = re.compile(r"<(/)?script\b", re.I)
_ATTRIBUTE = re.compile(r"""[^\s=/>"']+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']*))?""")


def cap_attributes(text: str) -> str:
    """Cut every start tag to its first MAX_ATTRIBUTES attributes before parsing.

    libxml2's HTML parser takes quadratic time in the attributes of one element (16,000 of them
    take about a second, 400,000 many minutes).  A product page has a few per element; only a
    tag over 4 kB is looked at, and text inside <script> is left alone.
    """
    if len(text) < 4096:
        return text
    out = []
    pos = 0
    scripts = None
    for m in _long_tags(text):
        start = m.start()
        if scripts is None:
            scripts = [(x.start(), x.group(1) is None) for x in _SCRIPT_EDGE.finditer(text)]
            edges = [x[0] for x in scripts]
        i = bisect.bisect_left(edges, start) - 1
        if i >= 0 and scripts[i][1]:
            continue  # inside a <script>: program text, not a tag
        tag = m.group(0)
        name_end = 1
        while name_end < len(tag) and not tag[name_end].isspace() and tag[name_end] not in "/>":
            name_end += 1
        attrs = _ATTRIBUTE.finditer(tag, name_end, len(tag) - 1)
        kept_end = None
        for i, a in enumerate(attrs):
            if i == MAX_ATTRIBUTES:
                kept_end = a.start()
                break
        if kept_end is None:
            continue  # few attributes, only long values: harmless
        out.append(text[pos:start])
        out.append(tag[:kept_end].rstrip() + ">")
        pos = m.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _long_tags(text: str) -> list:
    """The matches of _LONG_TAG in the text, as finditer gives them, found without running the
    pattern over the whole text: a match lies between one "<" and the next, so only a stretch
    of at least 4098 characters between two "<" can hold one (splitting and measuring run at
    C speed; the pattern, in Python's engine, walks every character of every tag)."""
    pieces = text.split("<")
    lens = list(map(len, pieces))
    if max(lens) < 4098:
        return []
    ends = list(accumulate(lens))  # ends[i] + i: where the "<" after pieces[i] sits
    out = []
    for i in compress(range(len(lens)), map((4098).__le__, lens)):
        if i:
            m = _LONG_TAG.match(text, ends[i - 1] + i - 1)
            if m is not None:
                out.append(m)
    return out


def parse(text: str):
    """Text -> lxml root element (never None; an empty document on failure)."""
    if _CONTROL_IN_TAG.search(text):
        # a control character is never content, and one after "<" ("<\0script>", "<\1/title>")
        # would turn a script into text, or a title into the rest of the page
        text = _CONTROL_IN_TAG.sub("<", text)
    data = cap_attributes(text).encode("utf-8", errors="replace")
    parser = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=False,
                              no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        root = None
    if root is None:
        root = etree.fromstring(b"<html><body></body></html>", parser)
    return root


def norm(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(text.split())


def tag_of(el) -> str:
    t = el.tag
    return t.lower() if isinstance(t, str) else ""


def classes(el) -> str:
    """class and id of an element, lower-cased, one string (for token searches)."""
    c = el.get("class") or ""
    i = el.get("id") or ""
    return (c + " " + i).lower()


def text_content(el, limit: int = 4000) -> str:
    parts: list[str] = []
    total = 0
    for t in el.itertext():
        parts.append(t)
        total += len(t)
        if total > limit:
            break
    return norm("".join(parts))[:limit]


HIDDEN_CLASS_RE = re.compile(
    r"(?:^|\s)(?:hidden|hide|is-hidden|d-none|displaynone|display-none|ng-hide|invisible|"
    r"u-hidden|visuallyhidden-all|js-hidden|x-hidden|hidden-all|nodisplay|no-display|"
    r"hiddenelement|is-hide|d-hide)(?:\s|$)",
)
_STYLE_HIDDEN = re.compile(r"(?<![-\w])(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.I)
NON_CONTENT_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title", "meta", "link", "svg", "iframe", "object", "select", "option", "textarea"})


def is_hidden(el) -> bool:
    """Hidden from a buyer by inline style, the hidden attribute or a common hiding class."""
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    if style and _STYLE_HIDDEN.search(style):
        return True
    cls = el.get("class")
    if cls and HIDDEN_CLASS_RE.search(cls.lower()):
        return True
    if el.get("aria-hidden") == "true" and tag_of(el) in ("div", "section", "ul", "aside"):
        return True
    if tag_of(el) == "input" and (el.get("type") or "").lower() == "hidden":
        return True
    return False


_PRUNE_TAGS = NON_CONTENT_TAGS - {"head", "select", "option"}
_ARIA_HIDDEN_TAGS = frozenset({"div", "section", "ul", "aside"})


_HIDDEN_CLASS_MEMO: dict[str, bool] = {}


def _hidden_class_memo(cls: str) -> bool:
    """`_hidden_class`, kept per class string: a page repeats a few dozen of them."""
    got = _HIDDEN_CLASS_MEMO.get(cls)
    if got is None:
        if len(_HIDDEN_CLASS_MEMO) > 50_000:
            _HIDDEN_CLASS_MEMO.clear()
        got = _HIDDEN_CLASS_MEMO[cls] = _hidden_class(cls)
    return got


def _hidden_class(cls: str) -> bool:
    low = cls.lower()
    # every hiding class above holds one of these; the regex runs only when one is there
    if "hid" in low or "none" in low or "invisible" in low or "display" in low:
        return HIDDEN_CLASS_RE.search(low) is not None
    return False


@dataclass
class DocScan:
    """What one pass over the parsed page found, so no extractor walks the whole tree again.

    The structured-data lists hold every such element, hidden or not (hidden structured data
    still describes the page); `doomed` holds what a buyer cannot see, outermost first, in
    document order (the elements `prune_invisible` removes); `h1s` are the headings outside
    them, i.e. those left after pruning.
    """

    metas: list = field(default_factory=list)
    title: object = None  # the first <title> below the root
    links: list = field(default_factory=list)
    scripts: list = field(default_factory=list)
    items: list = field(default_factory=list)  # elements with itemscope and itemtype (microdata)
    typed: list = field(default_factory=list)  # elements with typeof (RDFa)
    h1s: list = field(default_factory=list)
    doomed: list = field(default_factory=list)


_COLLECTED = frozenset({"meta", "title", "link", "script", "h1"})


def _collect(ds: DocScan, el, tag: str, root) -> None:
    """Keep the element if it is one of the tags structured data is read from."""
    if tag == "meta":
        ds.metas.append(el)
    elif tag == "script":
        ds.scripts.append(el)
    elif tag == "link":
        ds.links.append(el)
    elif tag == "title":
        if ds.title is None and el is not root:
            ds.title = el


def _collect_typed(ds: DocScan, el, keys: list) -> None:
    """Keep microdata items (itemscope with itemtype) and RDFa nodes (typeof)."""
    if "itemscope" in keys and "itemtype" in keys:
        ds.items.append(el)
    if "typeof" in keys:
        ds.typed.append(el)


def _hidden_by_attributes(el, low: str, keys: list) -> bool:
    """What `is_hidden` says of an element with attributes, in a few attribute reads."""
    if "hidden" in keys:
        return True
    if "style" in keys and _STYLE_HIDDEN.search(el.get("style")):
        return True
    if "class" in keys and _hidden_class_memo(el.get("class")):
        return True
    if low in _ARIA_HIDDEN_TAGS:
        return el.get("aria-hidden") == "true"
    if low == "input":
        return (el.get("type") or "").lower() == "hidden"
    return False


def _scan_hidden(el, tag: str, keys: list) -> bool:
    """Whether a buyer cannot see this element (pruned tags, then its own attributes)."""
    low = tag.lower()
    if low in _PRUNE_TAGS:
        return True
    if not keys or low == "html" or low == "body":
        return False
    return _hidden_by_attributes(el, low, keys)


def _last_descendant(el):
    """The last element of `el`'s subtree in document order (`el` itself when it is a leaf)."""
    last = el
    while len(last):
        last = last[-1]
    return last


def scan(root) -> DocScan:
    """One pass in document order: the page's structured-data elements and what to prune.

    Hidden means what `is_hidden` says, with the per-element work cut to a few attribute reads
    (an element without attributes needs none); a hidden block's descendants are not judged
    again, but structured data inside it is still collected.
    """
    ds = DocScan()
    doomed = ds.doomed
    skip_until = None  # while inside a doomed subtree, its last descendant
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):  # a comment, processing instruction or entity
            if skip_until is None:
                doomed.append(el)
            elif el is skip_until:
                skip_until = None
            continue
        if tag in _COLLECTED:
            _collect(ds, el, tag, root)
        keys = el.keys()  # attribute names: one call, then cheap list lookups
        if keys:
            _collect_typed(ds, el, keys)
        if skip_until is not None:
            if el is skip_until:
                skip_until = None
        elif _scan_hidden(el, tag, keys):
            doomed.append(el)
            if len(el):
                skip_until = _last_descendant(el)
        elif tag == "h1":
            ds.h1s.append(el)
    return ds


def prune_invisible(root, doomed: list | None = None) -> None:
    """Drop from the tree whatever a buyer cannot see (hidden blocks, scripts, styles).

    `doomed` is what `scan` found on this tree, when the caller already scanned it.
    """
    if doomed is None:
        doomed = scan(root).doomed
    for el in doomed:
        parent = el.getparent()
        if parent is None:
            continue
        tail = el.tail
        if tail:
            prev = el.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
        parent.remove(el)
