#!/usr/bin/env bash
# One scheduled fdatrack run: take the lock, crawl, pass the exit code on.
# Used by the crontab line, the systemd service and the GitHub Actions workflow in this folder.
#
#   deploy/scheduled-crawl.sh [fdatrack crawl options ...]
#
# Environment:
#   FDATRACK               the fdatrack command (default: .venv/bin/fdatrack if present, else fdatrack)
#   FDA_DB_PATH            the database (default db/fda_letters.db); the lock is FDA_DB_PATH.lock
#   FDA_FULL_LISTING_ON    weekday 1-7 (Monday = 1) whose run pages the whole listing (--full-listing):
#                          finds close-outs on old letters and letters FDA removed. Default 7; empty = never.
#   FDA_CRAWL_TIME_LIMIT   stop the crawl gracefully (Ctrl-C) after this long, timeout(1) syntax (e.g. 320m);
#                          the run ends "partial" (exit 6) and the next run carries on where it stopped.
#   FDA_BASE_URL, FDA_DELAY, ...  as for `fdatrack crawl`.
#
# Exit code: fdatrack's (0 ok, 3 failed, 4 blocked, 5 layout changed, 6 partial, 7 unreachable),
# or 75 when another run still holds the lock (nothing was done).
set -uo pipefail
cd "$(dirname "$0")/.."

db="${FDA_DB_PATH:-db/fda_letters.db}"
fdatrack="${FDATRACK:-}"
if [ -z "$fdatrack" ]; then
  if [ -x .venv/bin/fdatrack ]; then fdatrack=.venv/bin/fdatrack; else fdatrack=fdatrack; fi
fi
mkdir -p "$(dirname "$db")"

# Never two crawls on one database (a slow run overlapping the next day's).
exec 9>"$db.lock"
if ! flock -n 9; then
  echo "fdatrack: another scheduled run holds $db.lock; not starting" >&2
  exit 75
fi

args=("$@")
full_listing_day="${FDA_FULL_LISTING_ON-7}"
if [ -n "$full_listing_day" ] && [ "$(date +%u)" = "$full_listing_day" ] && [[ " $* " != *" --full"* ]]; then
  args+=(--full-listing)
fi

echo "fdatrack: scheduled crawl starting at $(date -u +%FT%TZ): crawl --db $db ${args[*]}" >&2
if [ -n "${FDA_CRAWL_TIME_LIMIT:-}" ]; then
  # SIGINT is Scrapy's graceful stop: requests in flight finish, the run is recorded as partial
  # shellcheck disable=SC2086  # FDATRACK may be a command with arguments (python3 -m scraper.cli)
  timeout --preserve-status --signal=INT --kill-after=120 "$FDA_CRAWL_TIME_LIMIT" $fdatrack crawl --db "$db" "${args[@]}"
else
  # shellcheck disable=SC2086
  $fdatrack crawl --db "$db" "${args[@]}"
fi
rc=$?
echo "fdatrack: scheduled crawl exited $rc at $(date -u +%FT%TZ)" >&2
exit "$rc"
