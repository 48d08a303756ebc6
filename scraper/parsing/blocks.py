"""Body text of an HTML element tree (lxml): one text block per paragraph, list, table or heading. Pure.

``BlockText`` walks an lxml element and renders it as blocks: <br> kept as a line break inside a block,
list items as "- " / "1. " lines, table rows as cells joined with " | ", script/navigation/hidden text left
out, and FDA's feedback widget (the ``ZN_*`` snippet, the QUALTRICS comment) ending the text.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from lxml import html as lxml_html

_SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "nav",
        "aside",
        "header",
        "footer",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "iframe",
        "svg",
        "img",
        "object",
        "video",
        "audio",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "blockquote",
        "center",
        "address",
        "pre",
        "figure",
        "figcaption",
        "details",
        "summary",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "caption",
        "body",
        "html",
    }
)
_HIDDEN_CLASSES = frozenset({"sr-only", "visually-hidden", "element-invisible", "hidden"})
_BR = "\x01"  # stands for <br> until a paragraph is flushed
_BLANK_LINE = re.compile(r"\x01 ?\x01")
_TYPED_BULLET = re.compile(r"^[-–•·▪◦]\s+")
# Two stack frames a level: 300 levels stay well inside Python's recursion limit (1000) wherever the parser runs.
_MAX_DEPTH = 300


def block_text(el, skip: Callable[[Any], bool] | None = None, drop: Callable[[str], bool] | None = None) -> list[str]:
    """The text blocks of the children of lxml element ``el``. ``skip(element)`` True leaves an element out
    (with everything in it); ``drop(block)`` True leaves a finished block out (a site banner, the page title)."""
    text = BlockText(skip)
    text.walk(el)
    text.flush()
    return [block for block in text.blocks if not drop(block)] if drop else text.blocks


def lxml_element(markup: str):
    """An lxml element of HTML ``markup`` (a node another library found, as text), for ``block_text``. Parsed
    with libxml2's huge-tree option: a page nested deeper than libxml2's default 256 elements (which the
    BeautifulSoup tree it came from holds) keeps the text after its deep part. A parser per call: lxml parser
    objects are not to be shared between threads."""
    return lxml_html.fragment_fromstring(markup, create_parent="div", parser=lxml_html.HTMLParser(huge_tree=True))


class BlockText:
    """Renders an element tree as text blocks: one per paragraph, list, table or heading."""

    def __init__(self, skip: Callable[[Any], bool] | None = None, depth: int = 0):
        self.blocks: list[str] = []
        self._inline: list[str] = []
        self._skip = skip
        self._stopped = False
        self._depth = depth  # elements above the one being walked (lists and tables included)

    def flush(self) -> None:
        """End the current paragraph; <br><br> inside it also splits paragraphs."""
        if not self._inline:
            return
        text, self._inline = "".join(self._inline), []
        # Source line breaks are just spaces; only <br> (the _BR mark) breaks a line.
        text = " ".join(text.split())  # str.split() knows every Unicode space; _BR is not one
        if not text:
            return
        if _BR not in text:
            self.blocks.append(text)
            return
        for paragraph in _BLANK_LINE.split(text):
            lines = [line.strip() for line in paragraph.split(_BR)]
            lines = [line for line in lines if line]
            if lines:
                self.blocks.append("\n".join(lines))

    def walk(self, el) -> None:
        """Render the children of ``el`` (its own tag is handled by the caller)."""
        if el.text:
            self._inline.append(el.text)
        self._depth += 1
        for child in el:
            if self._stopped:
                break
            self._visit(child)
            if child.tail and not self._stopped:
                self._inline.append(child.tail)
        self._depth -= 1

    def _visit(self, el) -> None:
        """Render one element according to its kind: skipped, line break, list, table, block or inline."""
        tag = el.tag
        if not isinstance(tag, str):  # comment or processing instruction
            if "QUALTRICS" in (el.text or "").upper():
                self._stopped = True  # FDA's feedback widget closes the letter body
            return
        if tag in _SKIP_TAGS or self._is_chrome(el):
            return
        if self._depth >= _MAX_DEPTH:  # deeper than any real page: the rest of this subtree is one block
            self.flush()
            self._inline.append(el.text_content())
            self.flush()
        elif tag == "br":
            self._inline.append(_BR)
        elif tag == "hr":
            self.flush()
        elif tag in ("ul", "ol"):
            self.flush()
            self.blocks.extend(list_blocks(el, self._depth))
        elif tag == "table":
            self.flush()
            self.blocks.extend(table_blocks(el, self._depth))
        elif tag in _BLOCK_TAGS:
            self.flush()
            self.walk(el)
            self.flush()
        else:  # inline: strong, em, a, span, sup, u, font …
            self.walk(el)

    def _is_chrome(self, el) -> bool:
        """Screen-reader-only text, the feedback widget, and what the caller's ``skip`` leaves out."""
        classes = set((el.get("class") or "").split())
        if classes & _HIDDEN_CLASSES or (el.get("id") or "").startswith("ZN_"):
            return True
        return self._skip is not None and self._skip(el)


def list_blocks(list_el, depth: int = 0) -> list[str]:
    """A <ul>/<ol> as one block, one item per line ('- ' or 'n. '; a bullet typed in the item is not repeated);
    nested lists indented."""
    ordered = list_el.tag == "ol"
    number = int(list_el.get("start", "1")) if (list_el.get("start") or "1").isdigit() else 1
    lines = []
    for li in list_el.iterchildren("li"):
        item = BlockText(depth=depth + 1)
        item.walk(li)
        item.flush()
        item_lines = "\n".join(item.blocks).split("\n") if item.blocks else []
        if not item_lines:
            continue
        marker = f"{number}." if ordered else "-"
        number += 1
        if not ordered:
            item_lines[0] = _TYPED_BULLET.sub("", item_lines[0])  # '<li>• text' is '- text', not '- • text'
        lines.append(f"{marker} {item_lines[0]}")
        lines.extend(f"  {line}" for line in item_lines[1:])
    return ["\n".join(lines)] if lines else []


def table_blocks(table, depth: int = 0) -> list[str]:
    """A <table> as one block, one row per line, cells joined with ' | '."""
    rows = []
    for tr in table.iter("tr"):
        cells = []
        for cell in tr.iterchildren("td", "th"):
            text = BlockText(depth=depth + 2)
            text.walk(cell)
            text.flush()
            cells.append(" ".join(" ".join(text.blocks).split("\n")))
        if any(cells):
            rows.append(" | ".join(cells))
    return ["\n".join(rows)] if rows else []
