"""The User-Agent fdatrack sends: the tool, its version and a contact, never a browser's.

fda.gov's Akamai front blocks some User-Agents (fda_site.md §10); what the tool owes its operator
is a clear diagnosis and a way to name themselves (``--contact``, ``FDA_USER_AGENT``), not a
disguise. Every User-Agent, default or the operator's, is checked here before a crawl starts.
"""

from __future__ import annotations

import re
from importlib import metadata

from db.site import PROJECT_URL  # noqa: F401 (declared below scraper/: db/ never imports scraper/)

# Product tokens of browsers' User-Agent strings: a UA carrying one of them pretends to be a browser.
BROWSER_TOKENS = re.compile(
    r"mozilla/|chrome/|chromium/|safari/|applewebkit/|gecko/|like gecko|firefox/|"
    r"edg/|edge/|msie |trident/|opera/|opr/",
    re.I,
)
# Printable ASCII only: a header value with a newline or control character could inject headers.
PRINTABLE = re.compile(r"^[\x20-\x7e]+$")
EMAIL = re.compile(r"^[^@\s()]+@[^@\s()]+\.[^@\s()]+$")
URL = re.compile(r"^https?://[^\s()]+$")


def version() -> str:
    try:
        return metadata.version("fdatrack")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0"


def default_user_agent(contact: str | None = None) -> str:
    """``fdatrack/<version> (+<project URL>[; contact: <contact>])``."""
    extra = f"; contact: {contact}" if contact else ""
    return f"fdatrack/{version()} (+{PROJECT_URL}{extra})"


def check_contact(contact: str) -> str:
    """The operator's e-mail address or URL, as given; ValueError when it is neither."""
    contact = contact.strip()
    if not PRINTABLE.match(contact) or len(contact) > 200:
        raise ValueError(
            "--contact must be one line of printable ASCII (an e-mail address or URL, at most 200 characters)"
        )
    if not (EMAIL.match(contact) or URL.match(contact)):
        raise ValueError(f"--contact must be an e-mail address or an http(s) URL, not {contact!r}")
    return contact


def check_user_agent(user_agent: str) -> str:
    """A User-Agent we are willing to send; ValueError for control characters or a browser's disguise."""
    if not user_agent or not PRINTABLE.match(user_agent):
        raise ValueError("the User-Agent (FDA_USER_AGENT) must be one line of printable ASCII")
    if BROWSER_TOKENS.search(user_agent):
        raise ValueError(
            f"the User-Agent must name this tool, not impersonate a browser: {user_agent!r} "
            "(see README: If fda.gov blocks you)"
        )
    return user_agent


def user_agent(custom: str | None = None, contact: str | None = None) -> str:
    """The checked User-Agent for a crawl: ``custom`` (FDA_USER_AGENT) or the default, with the contact."""
    contact = check_contact(contact) if contact else None
    if custom:
        return check_user_agent(f"{custom.strip()} (contact: {contact})" if contact else custom.strip())
    return check_user_agent(default_user_agent(contact))
