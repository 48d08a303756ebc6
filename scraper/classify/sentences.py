"""Split a letter into sentences once, keeping each sentence's character offsets.

Letters mix prose, headings, numbered items and statute citations full of periods
("21 U.S.C. § 355(a)", "Inc.", "No. 5"), and some texts wrap lines mid-sentence. The
splitter therefore treats a blank line as a hard break, a single newline as a break only
when the next line starts like a new sentence, and a period as a break only when it does
not end a known abbreviation or a list number.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import NamedTuple

from .keywords import KeywordScanner

# Words that end with a period without ending a sentence (compared lower-case, no final dot).
_ABBREVIATIONS = frozenset(
    """u.s.c u.s u.s.a c.f.r inc co corp ltd llc l.l.c no nos mr mrs ms dr st ste blvd ave
    rd e.g i.e etc vs v jr sr fed reg sec secs pt approx cf al ph.d m.d d.o j.d r.n pharm.d
    jan feb mar apr jun jul aug sep sept oct nov dec dept div fig ref tel ext op vol ch
    seq para art pp p.c p.a s.a s.p.a s.a.p.i c.v de n.a a.m p.m gen gov""".split()
)

# A candidate boundary: a newline run, or sentence punctuation (plus closing quotes/brackets)
# followed by whitespace. Each alternative opens with a literal character so that the regex
# engine skips ahead to the next "\n . ! ?" instead of trying the pattern at every position.
_CLOSING = r"[\"”’')\]]*[ \t\xa0]+"
_BOUNDARY = re.compile(r"\n[ \t\xa0]*(?:\n[ \t\xa0\n]*)?" + "".join(f"|{p}{_CLOSING}" for p in (r"\.", "!", r"\?")))
_LIST_MARKER = re.compile(r"^(?:\d{1,3}|[a-zA-Z]|[ivxlcdm]{1,6})$")
_SENTENCE_START = re.compile(r"[A-Z0-9“\"‘'(\[•\-–—§*]")
_LIST_ITEM = re.compile(r"[ \t]*(?:\d{1,3}[.)]|[a-z][.)]|[ivx]{1,5}[.)]|[•\-–—*o])\s")
# Every keyword the rules have asked SentenceIndex.containing for, shared by all texts.
_KEYWORDS = KeywordScanner()


class Sentence(NamedTuple):
    """One sentence (or heading line) of a text with its [start, end) offsets.

    A NamedTuple rather than a frozen dataclass: as immutable, and four times cheaper to
    create, which counts at a hundred sentences per letter.
    """

    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into stripped sentences with offsets such that text[start:end] == sentence."""
    spans: list[tuple[int, int]] = []
    begin = 0
    wrap_width = _hard_wrap_width(text)
    for m in _BOUNDARY.finditer(text):
        cut, stop = m.span()
        nxt = text[stop : stop + 1]
        if text[cut] == "\n":
            if text.find("\n", cut + 1, stop) == -1 and not _is_line_break(text, cut, nxt, wrap_width):
                continue  # a wrapped line: the sentence goes on
            spans.append((begin, cut))
            begin = stop
            continue
        if nxt and not _SENTENCE_START.match(nxt):
            continue
        token = m.group()
        if _ends_with_abbreviation(text, begin, cut, token):
            continue
        spans.append((begin, cut + len(token.rstrip(" \t\xa0"))))
        begin = stop
    spans.append((begin, len(text)))
    sentences = []
    for a, b in spans:  # each span without surrounding whitespace (str.strip and str.isspace agree on it)
        raw = text[a:b]
        left = raw.lstrip()
        stripped = left.rstrip()
        if stripped:
            a += len(raw) - len(left)
            sentences.append(Sentence(a, a + len(stripped), stripped))
    return sentences


def _is_line_break(text: str, cut: int, nxt: str, wrap_width: float | None) -> bool:
    """True when a single newline ends a line rather than wrapping a sentence."""
    if not nxt:
        return True
    prev = text[cut - 1 : cut] if cut else ""
    if not prev or prev in ".:;!?”\"'’)]":
        return True
    if wrap_width is None:
        return bool(_SENTENCE_START.match(nxt))
    # Hard-wrapped text (PDF extractions): a full-width line goes on into the next one unless
    # the next line opens a list item; a short line ends a heading or a paragraph.
    if nxt.islower():
        return False
    line_start = text.rfind("\n", 0, cut) + 1
    if cut - line_start < 0.7 * wrap_width:
        return True
    return bool(_LIST_ITEM.match(text, cut + 1))


def _hard_wrap_width(text: str) -> float | None:
    """Typical line width when the text is hard-wrapped (most long lines stop mid-sentence), else None."""
    if text.count("\n") < 8:
        return None
    long_lines = [line.rstrip() for line in text.split("\n") if len(line.strip()) >= 40]
    if len(long_lines) < 8:
        return None
    open_ended = sum(1 for line in long_lines if line[-1] not in ".:;!?”\"'’)]")
    if open_ended <= 0.5 * len(long_lines):
        return None
    widths = sorted(len(line) for line in long_lines)
    return float(widths[len(widths) // 2])


def _ends_with_abbreviation(text: str, begin: int, cut: int, token: str) -> bool:
    """True when the period at ``cut`` closes an abbreviation or a list number, not a sentence."""
    if token[0] != ".":
        return False
    # The last whitespace-free run of up to 40 characters before the period, within the sentence
    # (a line ending right before the period is looked through, as a regex "(\S+)$" would).
    window = text[max(begin, cut - 40) : cut]
    if window.endswith("\n"):
        window = window[:-1]
    if not window or window[-1].isspace():
        return False
    raw = window.rsplit(None, 1)[-1]
    word_start = max(begin, cut - 40) + len(window) - len(raw)
    word = raw.lstrip("([“\"'‘").lower()
    if word in _ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "Michael W. Roosevelt"
    if _LIST_MARKER.match(word):
        line_start = text.rfind("\n", 0, word_start) + 1
        return not text[line_start:word_start].strip()  # "1." opening an item
    return False


class SentenceIndex:
    """Sentences of one text with a fast offset → sentence lookup."""

    def __init__(self, text: str):
        self.text = text
        lower = text.lower()
        if len(lower) != len(text):  # a few characters ("İ") grow when lower-cased; keep offsets aligned
            lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        self.lower = lower
        self.sentences = split_sentences(text)
        self._starts = [s.start for s in self.sentences]
        self._by_key: dict[str, set[int]] = {}  # keyword -> sentence indexes (not to be mutated)
        self._scanned = False

    def containing(self, keys: tuple[str, ...]) -> list[int]:
        """Sorted indexes of sentences in which an occurrence of one of the lower-case substrings ``keys`` starts.

        Finding literal keywords is far cheaper than a case-insensitive regex at every position,
        so rules look here first and run their regex only on these sentences.
        """
        found: set[int] = set()
        for key in keys:
            hits = self._by_key.get(key)
            if hits is None:
                hits = self._hits(key)
            found |= hits
        return sorted(found)

    def _hits(self, key: str) -> set[int]:
        """Sentence indexes of ``key``: from the one keyword pass over the text, or str.find for a new keyword."""
        if not self._scanned:
            self._scanned = True
            self._by_key.update(_KEYWORDS.scan(self.lower, self.at))
            if key in self._by_key:
                return self._by_key[key]
        _KEYWORDS.learn((key,))  # found in one pass for the next texts
        hits = self._by_key[key] = set(self._find_all(key))
        return hits

    def sentence_has(self, i: int, keys: tuple[str, ...]) -> bool:
        """True when sentence ``i`` contains one of the lower-case substrings ``keys``."""
        s = self.sentences[i]
        low = self.lower
        for key in keys:
            hits = self._by_key.get(key)
            if hits is None:
                hits = self._hits(key)
            # the keyword pass rules most sentences out at the cost of a set lookup; find confirms
            # the occurrence lies wholly inside the sentence
            if i in hits and low.find(key, s.start, s.end) != -1:
                return True
        return False

    def _find_all(self, key: str):
        """Sentence indexes of every occurrence of ``key`` in the lower-cased text."""
        low, pos = self.lower, self.lower.find(key)
        while pos != -1:
            i = self.at(pos)
            if i is not None:
                yield i
            pos = low.find(key, pos + 1)

    def at(self, offset: int) -> int | None:
        """Index of the sentence containing ``offset`` (None when it falls between sentences)."""
        i = bisect_right(self._starts, offset) - 1
        if i >= 0 and offset < self.sentences[i].end:
            return i
        return None

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> Sentence:
        return self.sentences[i]
