"""The run ledger: every document a run was shown ends the run in exactly one state.

A listing row, or a link followed from one, is *listed* when the run first sees it, and then
*settled* as stored new, stored changed, unchanged, skipped on purpose (with the reason), or
failed (an errors row). At the end the run compares the two: anything listed and never settled
(a request a Scrapy filter dropped, a callback that raised, a run cut short) makes the run
partial, never ``ok``. This is the general rule that keeps "ok" true whatever the site sends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

STORED = ("new", "changed", "unchanged")
STATES = (*STORED, "skipped", "error")


@dataclass
class Entry:
    url: str | None
    state: str | None = None  # one of STATES once settled
    reason: str | None = None  # why it was skipped or failed


@dataclass
class RunLedger:
    entries: dict[str, Entry] = field(default_factory=dict)  # key (slug) -> entry
    by_url: dict[str, str] = field(default_factory=dict)  # url -> key, to settle errors that carry a URL only
    started: float = field(default_factory=time.monotonic)
    settled_at_listing: int = 0  # settled without a request (unchanged rows, skips)

    def list(self, key: str, url: str | None) -> None:
        """A document the run was shown (once per key; the first URL wins)."""
        if key not in self.entries:
            self.entries[key] = Entry(url)
            if url:
                self.by_url.setdefault(url, key)

    def settle(self, key: str | None, state: str, reason: str | None = None, url: str | None = None) -> bool:
        """Give a listed document its end state. A stored outcome is not overwritten by a later error
        (a retried request that failed once), and an error is overwritten by a later store.
        Returns whether the key (or URL) was listed."""
        if key not in self.entries and url:
            key = self.by_url.get(url)
        entry = self.entries.get(key) if key else None
        if entry is None:
            return False
        if entry.state in STORED and state == "error":
            return True
        entry.state, entry.reason = state, reason
        return True

    def listed_and_settle(self, key: str, url: str | None, state: str, reason: str | None = None) -> None:
        """List a document and settle it at once (an unchanged row, a skip decided at the listing)."""
        if key in self.entries and self.entries[key].state is not None:
            return
        self.list(key, url)
        self.settle(key, state, reason)
        self.settled_at_listing += 1

    def unaccounted(self) -> list[tuple[str, str | None]]:
        """(key, url) of every listed document without an end state."""
        return [(k, e.url) for k, e in self.entries.items() if e.state is None]

    def counts(self) -> dict[str, int]:
        """Listed, accounted, and the count of each end state."""
        counts = {state: 0 for state in STATES}
        for entry in self.entries.values():
            if entry.state:
                counts[entry.state] += 1
        listed = len(self.entries)
        accounted = sum(counts.values())
        return {"listed": listed, "accounted": accounted, "unaccounted": listed - accounted, **counts}

    def progress(self) -> str:
        """'done/total' of the documents that need a request, with an ETA from the rate so far."""
        to_fetch = len(self.entries) - self.settled_at_listing
        done = sum(1 for e in self.entries.values() if e.state) - self.settled_at_listing
        if to_fetch <= 0:
            return "0/0"
        elapsed = time.monotonic() - self.started
        line = f"{done}/{to_fetch} documents ({done / to_fetch:.0%})"
        if 0 < done < to_fetch:
            line += f", ETA {_duration(elapsed / done * (to_fetch - done))}"
        return line


def _duration(seconds: float) -> str:
    """3725 -> '1 h 02 min'; 95 -> '1 min 35 s'."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
