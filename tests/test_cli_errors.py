"""Bad input to every `fdatrack` command: one clear error line, a non-zero exit, never a traceback.

Commands that only read files run in-process through ``scraper.cli.main`` (fast); the ones
that would start a reactor, a server or exec Datasette if the check were missing run as
subprocesses, so a missing check fails the test instead of taking over the test process.
"""

from __future__ import annotations

import io
import json
import socket
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from db.schema import migrations
from scraper.cli import main
from tests.conftest import run_fdatrack

SAMPLE_LETTER = (
    Path(__file__).resolve().parent.parent
    / "scraper"
    / "mirror"
    / "sample"
    / "letters"
    / ("kimera-labs-inc-649343-09012023.html")
)


# --------------------------------------------------------------------------- bad files


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """One of each kind of bad input, by name."""
    made = {
        "missing": tmp_path / "does-not-exist.html",
        "empty": tmp_path / "empty.html",
        "not_html": tmp_path / "picture.png",
        "text": tmp_path / "notes.txt",
        "bad_json": tmp_path / "bad.jsonl",
        "directory": tmp_path / "a-directory",
        "foreign_db": tmp_path / "other-app.db",
        "old_db": tmp_path / "old-schema.db",
    }
    made["empty"].write_bytes(b"")
    made["not_html"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    made["text"].write_text("These are my notes about FDA letters.\nNot HTML, not a database.\n")
    made["bad_json"].write_text('{"id": "a", "text": "exosome products"}\n{"id": "b", "text": \n')
    made["directory"].mkdir()
    conn = sqlite3.connect(made["foreign_db"])
    conn.execute("create table letters (id integer primary key, sender text)")
    conn.commit()
    conn.close()
    old = Database(made["old_db"])
    migrations.apply(old, stop_before="m002_documents")
    old["letters"].insert({"slug": "old-letter-1", "url": "https://www.fda.gov/x/old-letter-1", "company": "Old Co"})
    old.close()
    return made


def in_process(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, stderr: str, *patterns: str):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code not in (0, None), stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("fdatrack"), lines
    for pattern in patterns:
        assert pattern.lower() in lines[0].lower(), (pattern, lines[0])


# --------------------------------------------------------------------------- parse-letter


@pytest.mark.parametrize(
    "name,says",
    [
        ("missing", "no such file"),
        ("empty", "empty"),
        ("not_html", "picture.png"),
        ("text", "notes.txt"),
        ("directory", "a-directory"),
    ],
)
def test_parse_letter_bad_file(files, capsys, monkeypatch, name, says):
    code, out, err = in_process(capsys, monkeypatch, "parse-letter", str(files[name]))
    assert out == ""
    assert_one_line_error(code, err, says)


def test_parse_letter_on_a_page_that_is_not_a_letter(tmp_path, capsys, monkeypatch):
    page = tmp_path / "apology.html"
    page.write_text((SAMPLE_LETTER.parent.parent / "apology.html").read_text())
    code, out, err = in_process(capsys, monkeypatch, "parse-letter", str(page))
    assert_one_line_error(code, err, "apology.html")


# --------------------------------------------------------------------------- database commands

DB_COMMANDS = [("status",), ("reparse",), ("classify",)]


@pytest.mark.parametrize("command", DB_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    "name,says",
    [
        ("missing", "no database"),
        ("empty", "empty file"),
        ("text", "not a database"),
        ("foreign_db", "letters"),
        ("directory", "a-directory"),
    ],
)
def test_database_command_bad_db(files, capsys, monkeypatch, command, name, says):
    code, out, err = in_process(capsys, monkeypatch, *command, "--db", str(files[name]))
    assert_one_line_error(code, err, says)


def test_text_file_is_not_changed_by_a_failed_open(files, capsys, monkeypatch):
    before = files["text"].read_bytes()
    in_process(capsys, monkeypatch, "status", "--db", str(files["text"]))
    assert files["text"].read_bytes() == before


def test_database_from_an_older_schema_is_upgraded_and_keeps_its_letters(files, capsys, monkeypatch):
    code, out, err = in_process(capsys, monkeypatch, "status", "--db", str(files["old_db"]))
    assert code == 0, err
    assert "Traceback" not in err
    assert "letters: 1" in out
    db = Database(files["old_db"])
    assert not migrations.pending(db)
    assert db["letters"].get("old-letter-1")["company"] == "Old Co"


def test_reparse_of_an_unknown_letter(files, capsys, monkeypatch):
    code, out, err = in_process(capsys, monkeypatch, "reparse", "--db", str(files["old_db"]), "no-such-letter-1")
    assert_one_line_error(code, err, "no-such-letter-1")


# --------------------------------------------------------------------------- classify-text, eval


def test_classify_text_bad_json_line(files, capsys, monkeypatch):
    code, out, err = in_process(capsys, monkeypatch, "classify-text", stdin=files["bad_json"].read_text())
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in results] == ["a", None]
    assert "error" not in results[0] and "not JSON" in results[1]["error"]
    assert_one_line_error(code, err, "could not be classified")


def test_classify_text_line_that_is_not_an_object(capsys, monkeypatch):
    code, out, err = in_process(capsys, monkeypatch, "classify-text", stdin='["a list"]\n{"id": 3}\n')
    results = [json.loads(line) for line in out.splitlines()]
    assert [bool(r.get("error")) for r in results] == [True, True]
    assert_one_line_error(code, err)


@pytest.mark.parametrize(
    "name,says",
    [
        ("missing", "no such file"),
        ("empty", "empty.html"),
        ("bad_json", "bad.jsonl"),
        ("text", "notes.txt"),
        ("not_html", "picture.png"),
    ],
)
def test_eval_bad_file(files, capsys, monkeypatch, name, says):
    code, out, err = in_process(capsys, monkeypatch, "eval", str(files[name]))
    assert_one_line_error(code, err, says)


# --------------------------------------------------------------------------- crawl, serve, mirror (subprocesses)


def test_crawl_unwritable_db_path(files, mirror):
    base_url, site = mirror
    blocked = files["text"] / "letters.db"  # a file where a directory should be
    proc = run_fdatrack("crawl", "--base-url", base_url, "--db", str(blocked), "--delay", "0", timeout=60)
    assert_one_line_error(proc.returncode, proc.stderr, "cannot open database")
    assert site.requests == [], "the crawl must not start when its database cannot be written"


@pytest.mark.parametrize(
    "name,says", [("text", "not a database"), ("foreign_db", "letters"), ("directory", "a-directory")]
)
def test_crawl_into_a_file_that_is_not_its_database(files, mirror, name, says):
    base_url, site = mirror
    before = files[name].read_bytes() if files[name].is_file() else None
    proc = run_fdatrack("crawl", "--base-url", base_url, "--db", str(files[name]), "--delay", "0", timeout=60)
    assert_one_line_error(proc.returncode, proc.stderr, says)
    assert site.requests == []
    if before is not None:
        assert files[name].read_bytes() == before


def test_crawl_unreachable_site(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "letters.db"
    proc = run_fdatrack("crawl", "--base-url", f"http://127.0.0.1:{port}", "--db", str(db), timeout=60)
    assert proc.returncode == 7
    assert_one_line_error(proc.returncode, proc.stderr, "cannot reach")
    assert not db.exists()


@pytest.mark.parametrize("name,says", [("missing", "no database"), ("empty", "empty file"), ("text", "not")])
def test_serve_bad_db(files, name, says):
    proc = run_fdatrack("serve", "--db", str(files[name]), "--port", "1", timeout=30)
    assert_one_line_error(proc.returncode, proc.stderr, says)


def test_mirror_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        proc = run_fdatrack("mirror", "--port", str(s.getsockname()[1]), timeout=30)
    assert_one_line_error(proc.returncode, proc.stderr, "cannot listen")
