"""The mirror's Health Canada site (recalls-rappels.canada.ca), under HC_MIRROR_PREFIX: the open-data file with
ETag / Last-Modified and 304 answers to If-None-Match / If-Modified-Since, and the notice pages, from
sample/health_canada/ (BUILT FROM EVIDENCE by tools/build_health_canada.py, not captured)."""

from __future__ import annotations

import hashlib
import json
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from scraper.settings import HC_MIRROR_PREFIX, HC_OPEN_DATA_PATH

LAST_MODIFIED = 1790043540  # 2026-09-22 02:19 UTC: the real file is regenerated daily at about 02:19 UTC


class HealthCanadaMirror:
    """Tests may replace ``open_data`` (bytes) or ``pages`` (path -> HTML) and move ``last_modified``."""

    def __init__(self, sample_dir: Path):
        folder = Path(sample_dir) / "health_canada"
        self.open_data: bytes | None = (
            (folder / HC_OPEN_DATA_PATH.rsplit("/", 1)[1]).read_bytes()
            if (folder / "HCRSAMOpenData.json").is_file()
            else None
        )
        self.pages: dict[str, str] = {}
        index = folder / "pages.jsonl"
        if index.is_file():
            for line in index.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.pages[entry["path"]] = (folder / entry["file"]).read_text(encoding="utf-8")
        self.last_modified = LAST_MODIFIED

    def etag(self) -> str:
        return '"' + hashlib.sha1(self.open_data or b"").hexdigest()[:16] + '"'

    def handle(self, path: str, headers) -> tuple[int, dict, bytes] | None:
        """The answer for a path under the prefix (already stripped), or None (404)."""
        if path == HC_OPEN_DATA_PATH and self.open_data is not None:
            validators = {"ETag": self.etag(), "Last-Modified": formatdate(self.last_modified, usegmt=True)}
            if _not_modified(headers, validators["ETag"], self.last_modified):
                return 304, validators, b""
            return 200, {"Content-Type": "application/json", **validators}, self.open_data
        if path in self.pages:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self.pages[path].encode("utf-8")
        return None


def _not_modified(headers, etag: str, last_modified: int) -> bool:
    if headers is None:
        return False
    match = headers.get("If-None-Match")
    if match:
        return etag in [m.strip() for m in match.split(",")] or match.strip() == "*"
    since = headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(since).timestamp() >= last_modified
        except (TypeError, ValueError):
            return False
    return False


def health_canada_routes(site, method: str, url, body: bytes) -> tuple[int, dict, bytes] | None:
    """The mirror's answer for a path under HC_MIRROR_PREFIX (the open-data file, notice pages), else None."""
    hc_path = strip_prefix(url.path)
    if hc_path is None:
        return None
    return site.health_canada.handle(hc_path, getattr(site.current_request, "headers", None))


def strip_prefix(path: str) -> str | None:
    """The Health Canada path of a mirror path, or None when it is not under the prefix."""
    if path == HC_MIRROR_PREFIX or path.startswith(HC_MIRROR_PREFIX + "/"):
        return path[len(HC_MIRROR_PREFIX) :] or "/"
    return None
