"""Incremental crawling: which listing rows need their letter page, and when to stop paging.

The listing is read newest-first. A scheduled run stops paging at the first page whose rows
are all letters already stored with unchanged listing cells, and fetches letter pages only for
new rows and rows whose cells changed (a response or close-out letter appeared, a date or the
subject changed). That early stop is only sound when every older letter is already stored, so
the database remembers whether the last run left it complete (`site_state`); after a run that
was interrupted, limited or partial, the next run pages the whole listing (still fetching only
what is new or changed) and so finishes the work.

Modes: incremental (default) · ``full_listing`` (page the whole listing; also how letters that
left the listing are found) · ``full`` (page everything and fetch every letter page again) ·
``since`` (only rows posted on or after a date).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from db import history

# Refuse to delist more than this share of the stored letters in one pass: a listing that
# suddenly shrinks is more likely a site fault than FDA removing letters en masse.
MAX_DELIST_SHARE = 0.10
MAX_DELIST_FLOOR = 5


@dataclass
class CrawlPlan:
    """What the user asked for on the command line."""

    full: bool = False  # fetch every letter page again
    full_listing: bool = False  # page the whole listing, fetch only new/changed letters
    since: str | None = None  # YYYY-MM-DD: only rows posted on or after this date

    @property
    def name(self) -> str:
        mode = "full" if self.full else "full-listing" if self.full_listing else "incremental"
        return f"{mode} since {self.since}" if self.since else mode


@dataclass
class ListingTracker:
    """One run's view of the listing against what the database already holds."""

    spider: str
    kind: str
    plan: CrawlPlan = field(default_factory=CrawlPlan)
    known: dict[str, dict] = field(default_factory=dict)  # slug -> {listing_hash, delisted_at}
    db_was_complete: bool = False  # the last run left every listed letter stored
    cached_view: dict | None = None
    listed: dict[str, str] = field(default_factory=dict)  # slug -> listing hash seen this run
    rows_listed: int = 0
    reached_end: bool = False  # paged to the last listing page
    stopped_early: bool = False
    truncated: bool = False  # --limit kept letters or pages from being fetched
    delisted: int = 0
    relisted: int = 0
    _legacy_hashes: dict[str, str] = field(default_factory=dict)

    # --- state between runs ---------------------------------------------------------------

    @property
    def complete_key(self) -> str:
        return f"{self.spider}:complete"

    @property
    def view_key(self) -> str:
        return f"{self.spider}:view"

    @classmethod
    def load(cls, db, *, spider: str, kind: str, plan: CrawlPlan, run_id: int | None) -> "ListingTracker":
        """Read what earlier runs left; mark the database incomplete until this run ends well."""
        if db is None:
            return cls(spider=spider, kind=kind, plan=plan)
        tracker = cls(spider=spider, kind=kind, plan=plan, known=history.known_listing(db, kind))
        tracker.db_was_complete = bool(history.get_state(db, tracker.complete_key, False)) and bool(tracker.known)
        tracker.cached_view = history.get_state(db, tracker.view_key)
        if run_id is not None:
            history.mark_interrupted_runs(db, run_id)
        history.set_state(db, tracker.complete_key, False)  # a kill -9 from here on leaves "incomplete"
        return tracker

    def remember_view(self, db, view: dict) -> None:
        """Keep the listing's view parameters, so the next run can skip the listing page."""
        if db is not None and view != self.cached_view:
            history.set_state(db, self.view_key, view)
            self.cached_view = view

    def forget_view(self, db) -> None:
        if db is not None and self.cached_view is not None:
            history.set_state(db, self.view_key, None)
        self.cached_view = None

    # --- paging -------------------------------------------------------------------------------

    @property
    def pages_everything(self) -> bool:
        """Page the whole listing (no early stop)?"""
        return self.plan.full or self.plan.full_listing or not self.db_was_complete

    def row_state(self, slug: str, row_hash: str) -> str:
        """'new', 'changed' or 'known' (stored, listing cells unchanged)."""
        stored = self.known.get(slug)
        if stored is None:
            return "new"
        if stored["listing_hash"] == row_hash:
            return "known"
        if stored.get("legacy_hash") and stored["legacy_hash"] == self._legacy_hashes.get(slug):
            return "known"  # stored before listing rows were kept: compare the listing-only cells
        return "changed"

    def triage(self, rows: list[dict]) -> tuple[list[dict], list[dict], bool]:
        """(rows whose letter page to fetch, rows skipped as older than --since, every row known?)
        for the rows a listing response showed for the first time in this run.

        Each row gets its ``listing_hash``. When to stop paging is the spider's decision
        (scraper/listing_pass.py: the listing's order is unstable within a posted date).
        """
        fetch, older, all_known = [], [], True
        self.rows_listed += len(rows)
        for row in rows:
            if self.plan.since and (row.get("posted_date") or "") < self.plan.since:
                older.append(row)
                continue
            row["listing_hash"] = history.listing_hash(row)
            self.listed[row["slug"]] = row["listing_hash"]
            self._legacy_hashes[row["slug"]] = history.listing_hash(row, history.LEGACY_HASH_FIELDS)
            state = self.row_state(row["slug"], row["listing_hash"])
            all_known = all_known and state == "known"
            if state != "known" or self.plan.full:
                fetch.append(row)
        return fetch, older, all_known

    @property
    def newest_known(self) -> str | None:
        """The newest posted date among the stored, still-listed letters (where an early stop may end)."""
        dates = [k.get("posted_date") for k in self.known.values() if not k.get("delisted_at") and k.get("posted_date")]
        return max(dates) if dates else None

    def record_listed(self, db, run_id: int | None, rows: list[dict]) -> None:
        """Stored letters seen on this page: bump last_seen, re-list any that had been delisted."""
        if db is None:
            return
        slugs = [r["slug"] for r in rows if r["slug"] in self.known and r["slug"] in self.listed]
        self.relisted += len(history.mark_listed(db, run_id, slugs))

    # --- lifecycle ------------------------------------------------------------------------------

    def is_known(self, slug: str) -> bool:
        return slug in self.known

    def delist(self, db, slug: str, run_id: int | None, reason: str) -> None:
        if db is not None and history.mark_delisted(db, slug, run_id, reason):
            self.delisted += 1

    @property
    def complete_pass(self) -> bool:
        """This run read every row of the listing (so a letter missing from it has left it)."""
        return self.reached_end and not self.stopped_early and not self.truncated and not self.plan.since

    def absent_candidates(self, db) -> tuple[list[str], str | None]:
        """After a complete pass: (stored letters it did not show, a reason when they are too many to
        check). Absence alone never delists: each candidate's own page must answer 404/410 (the
        listing's paging is unstable, and a second pass once found 4 rows the first had missed)."""
        if db is None or not (self.complete_pass and self.rows_listed):
            return [], None
        absent = history.letters_absent(db, self.kind, set(self.listed))
        live = sum(1 for k in self.known.values() if not k["delisted_at"])
        if len(absent) > max(MAX_DELIST_FLOOR, MAX_DELIST_SHARE * live):
            return [], (
                f"listing shrank: {len(absent)} of {live} stored letters are missing from it; "
                f"not checking or delisting them (a site fault is likelier than a mass removal)"
            )
        return absent, None

    def after_run(self, db, status: str) -> None:
        """Remember whether the database now holds every listed letter (lets the next run stop early)."""
        if db is None:
            return
        complete = status == "ok" and not self.truncated and (self.complete_pass or self.db_was_complete)
        history.set_state(db, self.complete_key, complete)
