"""Files `fdatrack serve` and `fdatrack eval` read that live at the top of the repository
(Datasette's metadata, plugins and templates; the classifier's dev and silver sets).

A wheel ships copies of them inside the package (``scraper/_data/``, written by setup.py's build
step from the top-level files, which stay the only copies in git); a checkout or an editable install
reads the top-level files themselves.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "_data"
# top-level path -> path inside scraper/_data/ of an installed package
SHIPPED = {
    "datasette_metadata.yml": "datasette_metadata.yml",
    "plugins": "plugins",
    "templates": "templates",
    "tests/files/classifier/documents.jsonl": "classifier/documents.jsonl",
    "tests/files/classifier/silver.jsonl.gz": "classifier/silver.jsonl.gz",
    "tests/files/classifier/real_letters.jsonl": "classifier/real_letters.jsonl",
    "tests/files/classifier/extra_real.jsonl": "classifier/extra_real.jsonl",
}


def resource(name: str) -> Path:
    """The shipped copy of top-level file or folder NAME (a key of SHIPPED) if this is an installed
    package, else the top-level one."""
    packaged = DATA_DIR / SHIPPED[name]
    return packaged if packaged.exists() else REPO_ROOT / name
