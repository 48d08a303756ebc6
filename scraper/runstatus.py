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
}


def run_status(*, reason: str, fatal: str | None, errors: int, letters_seen: int, listed: int | None) -> tuple[str, str]:
    """(status, close_reason) of a finished crawl.

    A run that stored nothing from a listing that should have letters is a failure, never
    a success with fewer letters.
    """
    if fatal == "blocked":
        return "blocked", "blocked"
    if fatal:
        return "failed", fatal
    if reason not in ("finished", "closespider_itemcount"):
        return "partial", reason
    if letters_seen == 0 and listed != 0:
        return "failed", "no letters stored"
    if errors:
        return "partial", f"{errors} errors"
    return "ok", reason


def exit_code(run: dict) -> int:
    """The process exit code for a finished run row."""
    if run["status"] == "failed" and run.get("close_reason") == "layout_changed":
        return EXIT_CODES["layout_changed"]
    return EXIT_CODES.get(run["status"], EXIT_CODES["failed"])
