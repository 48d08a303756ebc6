"""What the HTML parsers read from every page in the repository, and the classifier's evidence on it, equals the
committed snapshot (tests/files/body_text_snapshot.json, written by tools/snapshot_body_text.py).

A change of a parser's body text or of the fields read from it fails here with a readable diff; when the change is
meant, review that diff and rewrite the snapshot with ``python -m tools.snapshot_body_text``."""

from __future__ import annotations

import json

from tools import snapshot_body_text as snap


def test_every_parsed_page_reads_as_the_snapshot_says():
    committed = json.loads(snap.SNAPSHOT.read_text(encoding="utf-8"))
    now = snap.snapshot()
    lines = snap.diff(committed, now)
    assert not lines, "parsed pages differ from the snapshot (python -m tools.snapshot_body_text rewrites it):\n" + (
        "\n".join(lines[:200])
    )


def test_the_snapshot_covers_every_kind_of_html_page_the_parsers_read():
    entries = json.loads(snap.SNAPSHOT.read_text(encoding="utf-8"))
    by_parser = {}
    for path, entry in entries.items():
        by_parser.setdefault(entry["parser"], []).append(path)
    assert len(by_parser["letter_page"]) >= 28 + 5  # the sample's letter pages and the whole-page fixtures
    assert len(by_parser["safety_notice"]) >= 12 + 3
    assert len(by_parser["health_canada"]) >= 5 + 2
    # bodies are there, and classified: the exosome notices are tagged with their sentences
    exosome = entries["scraper/mirror/sample/notices/public-safety-notification-exosome-products.html"]
    assert "There are currently no FDA-approved exosome products." in exosome["parsed"]["body_text"]
    assert exosome["classification"]["exosome_related"] is True
    assert all(quote in exosome["parsed"]["body_text"] for _, quote in exosome["classification"]["evidence"])


def test_a_changed_body_shows_as_a_diff_of_that_page_and_paragraph():
    entries = json.loads(snap.SNAPSHOT.read_text(encoding="utf-8"))
    path = "scraper/mirror/sample/notices/ucm199585.html"
    changed = json.loads(json.dumps(entries))
    body = changed[path]["parsed"]["body_text"]
    changed[path]["parsed"]["body_text"] = body.replace("\n\n", "\n\nINSERTED\n\n", 1)
    lines = snap.diff(entries, changed)
    assert lines[0] == f"--- committed {path}" and lines[1] == f"+++ now {path}"
    assert [line for line in lines if line.startswith("+") and not line.startswith("+++")] == ["+INSERTED\\n\\n"]
