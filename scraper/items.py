"""Item schema: every field the spiders produce, derived from the column registry (db/columns.py).

LetterItem and DocumentItem are built from the registry's declarations (name, type, description,
required), which also give `letters` its columns' descriptions in datasette_metadata.yml.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass

from db.columns import DOCUMENT, LETTER, item_fields


def _f(description: str, default=None, required: bool = False):
    """A dataclass field carrying its description (and whether a letter must have it)."""
    return field(default=default, metadata={"description": description, "required": required})


def _item(name: str, kind: str, doc: str):
    """A dataclass item whose fields are the column registry's for that item (db/columns.py)."""
    cls = make_dataclass(
        name, [(n, t, _f(text, default, required)) for n, t, text, required, default in item_fields(kind)]
    )
    cls.__doc__ = doc
    cls.__module__ = __name__
    return cls


LetterItem = _item("LetterItem", LETTER, "One FDA warning letter: listing row + parsed letter page.")
DocumentItem = _item(
    "DocumentItem",
    DOCUMENT,
    "Any other FDA document: safety notice, untitled letter, response or close-out letter, press release.",
)


@dataclass
class CrawlErrorItem:
    """A page that could not be fetched or parsed: recorded, and the run goes on."""

    url: str = _f("Address that failed", required=True)
    stage: str = _f("Where it failed: robots, listing, letter, parse_letter, validate, store, blocked", required=True)
    reason: str = _f("Why, in one line", required=True)
    fatal: bool = _f("True when the failure makes the whole run fail (layout change, block)", False)
    key: str = _f("Slug of the listed document this failure settles in the run ledger (not stored)")


def field_descriptions(item_class) -> dict[str, str]:
    """{field name: description} for an item class."""
    return {f.name: f.metadata["description"] for f in fields(item_class)}


def required_fields(item_class) -> list[str]:
    """Names of the fields an item of this class must have."""
    return [f.name for f in fields(item_class) if f.metadata.get("required")]
