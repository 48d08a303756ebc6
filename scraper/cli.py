"""fdatrack: the one command-line entry point.

Each sub-command is a pair: ``_add_<name>(subparsers)`` declares its arguments and
``cmd_<name>(args) -> int`` runs it. Expected mistakes raise ``CliError`` and end as one
line on stderr with a non-zero exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class CliError(Exception):
    """An expected failure: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _read_text_file(path: str) -> str:
    """Read a user-supplied file or raise a one-line CliError."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"no such file: {path}")
    data = p.read_bytes()
    if not data.strip():
        raise CliError(f"empty file: {path}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # older FDA pages were saved as windows-1252
        return data.decode("cp1252", errors="replace")


# --- parse-letter -----------------------------------------------------------

def _add_parse_letter(sub):
    p = sub.add_parser("parse-letter", help="print what the parser extracts from one saved letter page, as JSON")
    p.add_argument("page", help="a saved FDA warning-letter page (HTML)")
    p.add_argument("--url", help="the page's address (default: the address in the file's source comment, else file name)")
    p.set_defaults(func=cmd_parse_letter)


def cmd_parse_letter(args) -> int:
    from scraper.parsing.letter_page import LetterPageError, parse_letter

    html = _read_text_file(args.page)
    try:
        record = parse_letter(html, url=args.url or _url_from_file(args.page, html))
    except LetterPageError as exc:
        raise CliError(f"{args.page}: {exc}") from None
    print(json.dumps(record, indent=2, ensure_ascii=False))
    return 0


def _url_from_file(path: str, html: str) -> str:
    """The fda.gov address a saved page names in its first-line comment, else one built from the file name."""
    import re

    m = re.search(r"<!--\s*Source:\s*(https?://\S+)", html[:2000])
    if m:
        return m.group(1)
    from scraper.settings import LETTER_PATH

    return f"https://www.fda.gov{LETTER_PATH}{Path(path).stem}"


# --- main -------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fdatrack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_parse_letter,):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except CliError as exc:
        print(f"fdatrack: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("fdatrack: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
