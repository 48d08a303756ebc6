#!/usr/bin/env bash
# One scheduled fdatrack run: crawl, pass the exit code on; a run still holding the lock is
# tolerated for a grace time, then reported as a failure.
# Used by the crontab line, the systemd service and the GitHub Actions workflow in this folder.
#
#   deploy/scheduled-crawl.sh [fdatrack crawl options ...]
#
# Environment:
#   FDATRACK               the fdatrack command (default: .venv/bin/fdatrack if present, else fdatrack)
#   FDA_DB_PATH            the database (default db/fda_letters.db); `fdatrack crawl` locks FDA_DB_PATH.lock
#   FDA_LOCK_GRACE         seconds another crawl may hold that lock before this run counts as a failure
#                          (default 93600 = 26 h: a day's run plus its time limit; a crawl holding the
#                          lock longer is hung or forgotten, and the operator must see it)
#   FDA_FULL_LISTING_ON    weekday 1-7 (Monday = 1) whose run pages the whole listing (--full-listing):
#                          finds close-outs on old letters and letters FDA removed. Default 7; empty = never.
#   FDA_CRAWL_TIME_LIMIT   stop the crawl gracefully (Ctrl-C) after this long, timeout(1) syntax (e.g. 320m);
#                          the run ends "partial" (exit 6) and the next run carries on where it stopped.
#   FDA_BASE_URL, FDA_DELAY, ...  as for `fdatrack crawl`.
#
# Exit code: fdatrack's (0 ok, 3 failed, 4 blocked, 5 layout changed, 6 partial or interrupted,
# 7 unreachable, 8 another crawl has held the lock longer than FDA_LOCK_GRACE), or 75 when another
# crawl holds the lock within the grace time (nothing was done; the schedulers count it as success).
set -uo pipefail
cd "$(dirname "$0")/.."

db="${FDA_DB_PATH:-db/fda_letters.db}"
fdatrack="${FDATRACK:-}"
if [ -z "$fdatrack" ]; then
  if [ -x .venv/bin/fdatrack ]; then fdatrack=.venv/bin/fdatrack; else fdatrack=fdatrack; fi
fi
mkdir -p "$(dirname "$db")"

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
if [ "$rc" = 8 ]; then
  # Another crawl holds the database's lock (fdatrack takes it itself, whoever started it). A run
  # overlapping the next day's is normal for a while; a lock held past the grace time is not.
  grace="${FDA_LOCK_GRACE:-93600}"
  held=$(( $(date +%s) - $(stat -c %Y "$db.lock" 2>/dev/null || date +%s) ))
  if [ "$held" -lt "$grace" ]; then
    echo "fdatrack: another crawl holds $db.lock (for ${held} s, grace ${grace} s); not starting" >&2
    rc=75
  else
    echo "fdatrack: error: another crawl has held $db.lock for ${held} s, longer than FDA_LOCK_GRACE=${grace} s: is it hung? ($(cat "$db.lock" 2>/dev/null))" >&2
  fi
fi
echo "fdatrack: scheduled crawl exited $rc at $(date -u +%FT%TZ)" >&2
exit "$rc"
