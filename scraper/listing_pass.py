"""One pass over fda.gov's warning-letter listing, which is paged by the server and unstable.

The real listing is Solr-backed and sorted by posted date only: rows sharing a posted date (up to
79 on one day) come back in a new order on every request, so consecutive pages can repeat some
rows and skip others, and a page may hold fewer rows than were asked for (fda_site.md section 10).
What stays stable is *which posted date sits at which position*. So the pass records the date at
every position it has read; the rows of one date (a "tie group") fill a known range of positions
once the first row of the next older date has been seen, and the group is complete when as many
distinct letters were seen in it as the range is long. An incomplete group is asked for again
(pages inside its range), within a budget; what is still missing after that is reported, never
assumed away.

Pure bookkeeping: no Scrapy, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Re-requests allowed per tie group: this many times the pages its range spans (plus a few).
# With 5-row pages and a 79-row group, collecting every row takes ~80 random pages on average.
REFETCH_PER_PAGE = 12
REFETCH_EXTRA = 4
# Bounds on a listing that never ends: FDA lists ~3,700 letters, so a pass is given up (with a
# reason) past this many rows, or after the same rows came back on this many pages in a row.
MAX_LISTING_ROWS = 50_000
MAX_REPEATED_PAGES = 3


@dataclass
class ListingPass:
    """What one run has read of the listing so far."""

    total: int | None = None  # recordsTotal as last reported (None: the endpoint gives none)
    next_start: int = 0  # first position not read yet (paging follows what the server returned)
    ended: bool = False  # the end of the listing was reached
    stopped: str | None = None  # why paging was given up (a repeating listing, a bound)
    rows: dict[str, dict] = field(default_factory=dict)  # slug -> row, first seen
    dates_at: dict[int, str] = field(default_factory=dict)  # position -> posted date
    group_slugs: dict[str, set] = field(default_factory=dict)  # posted date -> slugs seen there
    refetches: dict[str, int] = field(default_factory=dict)  # posted date -> re-requests spent
    page_size_seen: int = 0  # most rows one response returned
    requests: int = 0
    last_page: tuple = ()  # slugs of the last regular page, to spot a listing that repeats
    repeats: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)  # posted date -> positions holding a repeated slug
    unordered: bool = False
    total_doubt: str | None = None  # why recordsTotal cannot be trusted in this pass
    probe_at: int | None = None  # an empty page with no total: ask one page further before ending
    gaps: list = field(default_factory=list)  # (from, to) positions an empty page skipped
    listed_twice: set = field(default_factory=set)  # slugs shown at more than one position
    _short: bool = False  # the last response held fewer rows than a full page
    # posted date -> [first, last] position read, kept as positions are read so that a response
    # costs work for its own rows, not a scan of the whole pass; rebuilt if a position changes date
    _spans: dict = field(default_factory=dict)
    _spans_stale: bool = False  # a row newer than one before it: not sorted by posted date, ties mean nothing

    # --- reading ----------------------------------------------------------------------------

    def add(
        self, start: int, rows: list[dict | None], total: int | None, *, regular: bool = True, asked: int | None = None
    ) -> list[dict]:
        """Record one response (rows in position order from ``start``; None for a row that could
        not be read) to a request for ``asked`` rows. Returns the rows not seen before in this pass.
        ``regular`` is false for a re-request of a tie group."""
        self.requests += 1
        self._note_total(total, start + len(rows))
        # A page is short when it holds fewer rows than asked and than the server has given before.
        full = min(x for x in (asked, self.page_size_seen or None) if x) if (asked or self.page_size_seen) else 0
        self._short = len(rows) < full
        self.page_size_seen = max(self.page_size_seen, len(rows))
        fresh, dups = [], {}
        for offset, row in enumerate(rows):
            position = start + offset
            date = (row or {}).get("posted_date") or "?"
            before = self.dates_at.get(position - 1)
            if date != "?" and before not in (None, "?") and date > before:
                self.unordered = True
            self._place(position, date)
            if row is None:
                continue
            first = self.rows.get(row["slug"])
            if row.get("_dup") or (first is not None and first.get("posted_date") != row.get("posted_date")):
                # the same slug again (in this response, or under another posted date): a position
                # that no other letter fills
                dups[date] = dups.get(date, 0) + 1
                self.listed_twice.add(row["slug"])
                continue
            self.group_slugs.setdefault(date, set()).add(row["slug"])
            if first is None:
                self.rows[row["slug"]] = row
                fresh.append(row)
        for date, count in dups.items():
            self.duplicates[date] = max(self.duplicates.get(date, 0), count)
        if regular:
            self._advance(start, rows)
        return fresh

    def _note_total(self, total, seen_upto: int) -> None:
        """recordsTotal is a cross-check, never the stop signal: one that is not a count, is smaller
        than the rows already shown, or changes during the pass (a letter posted or removed while
        paging shifts every position after it) makes the pass incomplete."""
        if total is None or self.total_doubt:
            return
        if isinstance(total, bool) or not isinstance(total, int) or total < 0 or total < seen_upto:
            self.total_doubt = f"the listing reported {total!r} letters but showed at least {seen_upto}"
            self.total = None
        elif self.total is not None and total != self.total:
            self.total_doubt = f"the listing's total changed from {self.total} to {total} during the pass"
            self.total = None
        else:
            self.total = total

    def next_page_start(self) -> int:
        """Where the next regular request starts: the cursor, or a probe past an empty page."""
        return self.probe_at if self.probe_at is not None else self.next_start

    def _advance(self, start: int, rows: list) -> None:
        """Move the cursor by what the server returned; notice the end or a listing that repeats."""
        if self.probe_at is not None and start == self.probe_at:
            self.probe_at = None
            if not rows:
                self.ended = True
                return
            self.gaps.append((self.next_start, start))  # rows between them were never shown
            self.next_start = start
        if start != self.next_start:
            return
        if not rows:
            if self.total is not None and start < self.total:
                self.ended = True  # fewer rows than reported: the shortfall says so
            elif self.total is None:
                # No total to trust: an empty page is believed only if the page after it is empty too.
                self.probe_at = start + max(1, self.page_size_seen)
            else:
                self.ended = True
            return
        fingerprint = tuple(sorted(str((r or {}).get("slug")) for r in rows))
        self.repeats = self.repeats + 1 if fingerprint == self.last_page and len(rows) > 1 else 0
        self.last_page = fingerprint
        self.next_start = start + len(rows)
        if self.total is not None and self.next_start >= self.total and self._short:
            self.ended = True  # a full page at the reported end is checked with one more request
        elif self.repeats >= MAX_REPEATED_PAGES:
            self.stopped = (
                f"the listing repeats itself: the same {len(rows)} rows on {self.repeats + 1} pages "
                f"in a row (at row {start}); stopped paging"
            )
        elif self.next_start >= MAX_LISTING_ROWS:
            self.stopped = f"the listing did not end after {MAX_LISTING_ROWS} rows; stopped paging"

    # --- tie groups -----------------------------------------------------------------------------

    def _place(self, position: int, date: str) -> None:
        """Record the posted date at one position."""
        before = self.dates_at.get(position)
        self.dates_at[position] = date
        if before is not None and before != date:
            self._spans_stale = True
        elif not self._spans_stale:
            span = self._spans.get(date)
            if span is None:
                self._spans[date] = [position, position]
            else:
                span[0], span[1] = min(span[0], position), max(span[1], position)

    def _date_spans(self) -> dict:
        if self._spans_stale:
            self._spans = {}
            for position, date in self.dates_at.items():
                span = self._spans.setdefault(date, [position, position])
                span[0], span[1] = min(span[0], position), max(span[1], position)
            self._spans_stale = False
        return self._spans

    def _dates(self):
        """Every posted date read (not the '?' of unreadable rows)."""
        return (d for d in self._date_spans() if d != "?")

    def group_range(self, date: str) -> tuple[int, int] | None:
        """(first, last) position of one posted date, once both ends have been read; else None."""
        span = self._date_spans().get(date)
        if span is None:
            return None
        lo, hi = span
        if hi >= self.next_start:  # a re-request reached past the cursor: only positions it has passed count
            positions = [p for p, d in self.dates_at.items() if d == date and p < self.next_start]
            if not positions:
                return None
            lo, hi = min(positions), max(positions)
        if hi + 1 >= self.next_start and not self.ended:
            return None  # the next older date has not been reached yet: the group may go on
        return lo, hi

    def missing(self, date: str) -> int:
        """Letters of this posted date not seen yet (0 while the group is still open)."""
        span = self.group_range(date)
        if span is None:
            return 0
        size = span[1] - span[0] + 1 - self.duplicates.get(date, 0)
        return max(0, size - len(self.group_slugs.get(date, ())))

    def incomplete_groups(self, newer_than: str | None = None) -> list[str]:
        """Closed tie groups still missing letters (only dates >= ``newer_than`` when given), newest first."""
        if self.unordered:
            return []
        dates = set(self._dates())
        if newer_than:
            dates = {d for d in dates if d >= newer_than}
        return sorted((d for d in dates if self.missing(d)), reverse=True)

    def refetch_start(self, date: str) -> int | None:
        """Where to ask again for rows of an incomplete group, or None once its budget is spent."""
        span = self.group_range(date)
        if span is None:
            return None
        lo, hi = span
        page = max(1, self.page_size_seen)
        pages = math.ceil((hi - lo + 1) / page)
        spent = self.refetches.get(date, 0)
        if spent >= REFETCH_PER_PAGE * pages + REFETCH_EXTRA:
            return None
        self.refetches[date] = spent + 1
        # Pages that start inside the group return a fresh random draw of its rows each time;
        # cycle through them so every part of the range is asked for.
        starts = list(range(lo, hi + 1, page)) or [lo]
        return starts[spent % len(starts)]

    def next_refetch(self, newer_than: str | None = None) -> int | None:
        """The next re-request to make for any incomplete group, or None when none is left."""
        for date in self.incomplete_groups(newer_than):
            start = self.refetch_start(date)
            if start is not None:
                return start
        return None

    # --- outcome -------------------------------------------------------------------------------

    def has_date_older_than(self, date: str) -> bool:
        return any(d < date for d in self._dates())

    @property
    def complete(self) -> bool:
        """Every position of the listing read and every tie group's letters seen."""
        if not self.ended or self.stopped or self.total_doubt or self.gaps:
            return False
        if self.total is not None and self.next_start < self.total:
            return False
        if self.unordered:  # positions say nothing: only the count of distinct letters can
            return self.total is not None and len(self.rows) >= self.total
        return not self.incomplete_groups()

    def shortfall(self) -> str | None:
        """Why the pass is not complete, in one line (None when it is)."""
        if self.complete:
            return None
        if self.stopped:
            return self.stopped
        if self.total_doubt:
            return self.total_doubt
        if self.gaps:
            return (
                f"the listing answered an empty page at row {self.gaps[0][0]} and rows again at "
                f"row {self.gaps[0][1]}: rows in between were never shown"
            )
        if self.unordered:
            return (
                f"the listing is not in posted-date order; {len(self.rows)} distinct letters seen "
                f"of {self.total if self.total is not None else 'an unknown number'}"
            )
        missing = sum(self.missing(d) for d in self.incomplete_groups())
        if missing:
            dates = self.incomplete_groups()
            return (
                f"{missing} listed letters never came back (rows sharing a posted date reorder between "
                f"requests; {len(dates)} dates incomplete, newest {dates[0]}) after {self.requests} listing requests"
            )
        if self.total is not None and self.next_start < self.total:
            return f"read {self.next_start} of {self.total} listing rows"
        return "the listing was not read to its end"
