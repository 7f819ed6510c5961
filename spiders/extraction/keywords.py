"""Cheap literal pre-filters for the phrase regexes.

A big case-insensitive alternation (the stock and buy phrases) costs about a microsecond per
character of text in Python's `re`, far too much to run over every text of a page.  Every
alternative of such a pattern needs some literal word to match ("sold[- ]?out" needs "sold",
"(?:plus|non|pas) disponible" needs "disponible"), so a text holding none of those words (in lower
case) cannot match, and `str.find` rules that out at C speed.  The words are read from the
patterns themselves, so a phrase added to a list is covered without a second list to maintain.
"""

from __future__ import annotations

import bisect
import re

try:  # Python 3.11+
    from re import _constants as _sre_c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_LITERAL = _sre_c.LITERAL
_SUBPATTERN = _sre_c.SUBPATTERN
_BRANCH = _sre_c.BRANCH
_REPEATS = (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT)


def _seq_words(items) -> list[str] | None:
    """Words one of which any match of this sequence contains, or None if none can be named."""
    best = ""
    run: list[str] = []
    for op, av in list(items) + [(None, None)]:
        if op is _LITERAL:
            run.append(chr(av))
            continue
        for w in "".join(run).lower().split():
            if len(w) > len(best):
                best = w
        run = []
    if best:
        return [best]
    for op, av in items:
        if op is _SUBPATTERN:
            sub = _seq_words(av[-1])
            if sub:
                return sub
        elif op is _BRANCH:
            alts = [_seq_words(b) for b in av[1]]
            if alts and all(alts):
                return sorted({w for a in alts for w in a})
        elif op in _REPEATS and av[0] >= 1:
            sub = _seq_words(av[2])
            if sub:
                return sub
    return None


def required_words(phrases) -> tuple[str, ...] | None:
    """The lower-case words a text must hold one of to match any of `phrases` (regex fragments,
    or one whole pattern), or None when some phrase has no such word (then nothing can be ruled
    out)."""
    if isinstance(phrases, str):
        phrases = [phrases]
    words: set[str] = set()
    for ph in phrases:
        got = _seq_words(_sre_parse.parse(ph))
        if not got:
            return None
        words.update(got)
    # a word that contains another listed word is redundant
    kept = sorted(words, key=len)
    out: list[str] = []
    for w in kept:
        if not any(k in w for k in out):
            out.append(w)
    return tuple(out)


def word_groups(phrases, flags=0) -> dict | None:
    """word -> one compiled regex of the phrases that need that word: a text matches some phrase
    exactly when, for some word it holds (lower case), that word's regex matches it.  None when
    some phrase has no required word."""
    words = required_words(phrases)
    if words is None:
        return None
    groups: dict[str, list[str]] = {w: [] for w in words}
    for ph in phrases:
        got = _seq_words(_sre_parse.parse(ph))
        for g in got:
            # the kept word that this one contains (itself, or a shorter word it holds)
            w = next(k for k in words if k in g)
            if ph not in groups[w]:
                groups[w].append(ph)
    return {w: re.compile("|".join(phs), flags) for w, phs in groups.items() if phs}


class TextIndex:
    """The page's text pieces (element texts and tails) joined once, lower-cased, so that
    `segments_with(words)` finds the pieces holding any of some words with `str.find`."""

    __slots__ = ("texts", "owners", "starts", "joined")

    def __init__(self, texts: list[str], owners: list):
        self.texts = texts
        self.owners = owners
        low = "\x00".join(texts).lower()
        if len(low) != sum(len(t) for t in texts) + max(len(texts) - 1, 0):
            low = "\x00".join(t.lower() for t in texts)  # a character whose lower case is longer
            pieces = [t.lower() for t in texts]
        else:
            pieces = texts
        starts = []
        pos = 0
        for t in pieces:
            starts.append(pos)
            pos += len(t) + 1
        self.starts = starts
        self.joined = low

    def segments_with(self, words) -> list[int]:
        """Indexes of the pieces that hold any of `words` (None: every piece)."""
        if words is None:
            return list(range(len(self.texts)))
        joined = self.joined
        starts = self.starts
        n = len(starts)
        hits: set[int] = set()
        for w in words:
            pos = joined.find(w)
            while pos != -1:
                i = bisect.bisect_right(starts, pos) - 1
                hits.add(i)
                if i + 1 >= n:
                    break
                pos = joined.find(w, starts[i + 1])
        return sorted(hits)
