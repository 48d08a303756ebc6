"""Run outcomes and the exit codes a scheduler can act on."""

from __future__ import annotations

EXIT_CODES = {
    "ok": 0,
    "usage": 2,  # bad arguments or input (one line on stderr)
    "failed": 3,
    "blocked": 4,
    "layout_changed": 5,
    "partial": 6,
    "unreachable": 7,  # no network / host unreachable; nothing was written
    "locked": 8,  # another `fdatrack crawl` holds the database's lock file; nothing was done
}
# A run stopped by SIGTERM/SIGINT is recorded `interrupted`; like `partial`, the next run carries on.
STATUS_EXIT = {"interrupted": EXIT_CODES["partial"]}


# The layout tripwire: when more than this share of the letter pages fetched in a run have no
# company or no issue date, the page layout has changed (the run fails, exit code 5). At least
# TRIPWIRE_MIN_PAGES such pages are needed, so one odd letter among two new ones is not an alarm.
TRIPWIRE_SHARE = 0.20
TRIPWIRE_MIN_PAGES = 2


def layout_tripwire(letter_pages: int, pages_incomplete: int) -> str | None:
    """A one-line reason when too many fetched letter pages lack a company or date, else None."""
    if letter_pages and pages_incomplete >= TRIPWIRE_MIN_PAGES and pages_incomplete / letter_pages > TRIPWIRE_SHARE:
        return (
            f"{pages_incomplete} of {letter_pages} letter pages ({pages_incomplete / letter_pages:.0%}) "
            f"had no company or no issue date: the page layout changed"
        )
    return None


def run_status(
    *,
    reason: str,
    fatal: str | None,
    errors: int,
    letters_seen: int,
    listed: int | None,
    listing_rows: int | None = None,
    known_letters: int = 0,
    letter_pages: int = 0,
    pages_incomplete: int = 0,
    static_only: bool = False,
) -> tuple[str, str]:
    """(status, close_reason) of a finished crawl.

    A run that stored nothing from a listing that should have letters is a failure, never
    a success with fewer letters. An incremental run that found nothing new stores nothing
    and is fine, as long as the listing did show its rows (``listing_rows``); a listing that
    comes back empty while the database holds letters (``known_letters``) fails.
    """
    if reason.startswith("interrupted"):
        return "interrupted", reason
    if fatal == "blocked":
        return "blocked", "blocked"
    if fatal:
        return "failed", fatal
    if layout_tripwire(letter_pages, pages_incomplete):
        return "failed", "layout_changed"
    if reason not in ("finished", "closespider_itemcount"):
        return "partial", reason
    if letters_seen == 0:
        if listing_rows is None and listed != 0:
            return "failed", "no letters stored"
        if listing_rows == 0 and (listed or known_letters):
            return "failed", "listing returned no letters"
        if letter_pages and not errors:  # pages came back but none became a letter
            return "failed", "no letters stored"
    if errors:
        return "partial", f"{errors} errors"
    if static_only:  # the AJAX endpoints refused us: rows further down the listing went unchecked
        return "partial", "static rows only"
    return "ok", reason


def exit_code(run: dict) -> int:
    """The process exit code for a finished run row."""
    if run["status"] == "failed" and run.get("close_reason") == "layout_changed":
        return EXIT_CODES["layout_changed"]
    return STATUS_EXIT.get(run["status"], EXIT_CODES.get(run["status"], EXIT_CODES["failed"]))
