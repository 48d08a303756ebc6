"""The document kinds the `letters` table holds (its `kind` column), named once.

db/ owns them (db/queries.py filters by them and db/ imports nothing from scraper/); each source's
declaration in scraper/spiders/ (see scraper/sources.py) names the kinds it collects from here.
"""

WARNING_LETTER = "warning_letter"
UNTITLED_LETTER = "untitled_letter"
RESPONSE_LETTER = "response_letter"
CLOSEOUT_LETTER = "closeout_letter"
SAFETY_NOTICE = "safety_notice"
PRESS_RELEASE = "press_release"
HC_ADVISORY = "hc_advisory"  # a Health Canada advisory or notice (regulator Health Canada)

# every kind, in the order the docs list them
ALL = (WARNING_LETTER, UNTITLED_LETTER, SAFETY_NOTICE, RESPONSE_LETTER, CLOSEOUT_LETTER, PRESS_RELEASE, HC_ADVISORY)
# the letters FDA sends to a firm on its own initiative (not replies, not notices)
LETTERS = (WARNING_LETTER, UNTITLED_LETTER)
# a row stored before the kind column existed is a warning letter
DEFAULT = WARNING_LETTER

# the title of a letter PDF that has none of its own ("Untitled Letter: <company>")
TITLES = {
    UNTITLED_LETTER: "Untitled Letter",
    RESPONSE_LETTER: "Response Letter",
    CLOSEOUT_LETTER: "Close-Out Letter",
}


def sql_list(kinds) -> str:
    """('warning_letter', 'untitled_letter') for an SQL `in`; the kinds are the constants above, never input."""
    unknown = [k for k in kinds if k not in ALL]
    if unknown:
        raise ValueError(f"unknown document kind {unknown[0]!r}")
    return "(" + ", ".join(f"'{k}'" for k in kinds) + ")"
