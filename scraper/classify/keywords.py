"""Every occurrence of every rule keyword in one pass over a letter (Aho–Corasick).

Rules pre-filter sentences by lower-case keywords ("adulterated", "cfr", "stem", …; about 130
in all). One ``str.find`` pass per keyword meant ~130 passes over each 20 KB letter and was the
classifier's largest cost; an automaton finds all of them, overlapping ones included
("unlicensed" holds "licens", "system" holds "stem"), in a single pass in C.

The automaton holds the keywords the rules have asked for so far: a keyword it does not hold
yet is looked up with ``str.find`` once and joins the automaton for the next letters, so no
rule module has to register its keywords (and none can be forgotten).
"""

from __future__ import annotations

from typing import Callable, Iterable

import ahocorasick


class KeywordScanner:
    """A growing set of lower-case keywords, found together with one automaton pass."""

    def __init__(self) -> None:
        self._keys: frozenset[str] = frozenset()
        # the automaton with the keyword set it was built from, swapped as one value
        self._built: tuple[ahocorasick.Automaton, frozenset[str]] | None = None

    def learn(self, keys: Iterable[str]) -> None:
        """Add keywords; the automaton is rebuilt on the next scan."""
        new = set(keys) - self._keys
        if new:
            self._keys = self._keys | new
            self._built = None

    def scan(self, lower: str, locate: Callable[[int], int | None]) -> dict[str, set[int]]:
        """For every known keyword, the set of ``locate(start offset)`` of its occurrences in ``lower``.

        ``locate`` maps an offset to a sentence index (None between sentences), so the result is
        keyword → indexes of the sentences in which one of its occurrences starts.
        """
        if not self._keys:
            return {}
        automaton, keys = self._build()
        found: dict[str, set[int]] = {key: set() for key in keys}
        for end, (key, length) in automaton.iter(lower):
            i = locate(end - length + 1)
            if i is not None:
                found[key].add(i)
        return found

    def _build(self) -> tuple[ahocorasick.Automaton, frozenset[str]]:
        """The automaton over the current keywords and that set (built once per change of the set)."""
        built = self._built
        if built is None:
            keys = self._keys
            automaton = ahocorasick.Automaton()
            for key in keys:
                automaton.add_word(key, (key, len(key)))
            automaton.make_automaton()
            built = self._built = (automaton, keys)
        return built
