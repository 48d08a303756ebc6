"""SentenceIndex.containing: the one-pass keyword scan finds what a str.find per keyword finds."""

from scraper.classify.sentences import SentenceIndex, split_sentences

TEXT = (
    "“Notice” — İstanbul clinic: your unlicensed biological products are not licensed.\n\n"
    "The quality system of your firm failed. Stem cell products require a license!\n"
    "Record keeping (21 C.F.R. 1271.290) was inadequate; see www.example.com. UNLICENSED again."
)
KEYS = ("licens", "unlicensed", "stem", "cord", "c.f.r", "1271", ".com", "absent keyword", "İ".lower())


def _by_find(text: str, key: str) -> list[int]:
    """Sentences in which an occurrence of ``key`` starts, found the slow way."""
    index = SentenceIndex(text)
    out, pos = set(), index.lower.find(key)
    while pos != -1:
        for i, s in enumerate(split_sentences(text)):
            if s.start <= pos < s.end:
                out.add(i)
        pos = index.lower.find(key, pos + 1)
    return sorted(out)


def test_overlapping_and_unicode_keywords_match_str_find():
    for key in KEYS:
        assert SentenceIndex(TEXT).containing((key,)) == _by_find(TEXT, key), key


def test_a_keyword_first_asked_for_later_is_found_then_and_on_the_next_texts():
    first = SentenceIndex(TEXT)
    assert first.containing(("stem",)) == _by_find(TEXT, "stem")  # the scan has run for this text
    assert first.containing(("inadequate",)) == [3]  # a keyword the scanner did not hold yet
    assert SentenceIndex(TEXT).containing(("inadequate", "cord")) == [3]


def test_union_of_keys_is_sorted_and_without_duplicates():
    index = SentenceIndex(TEXT)
    assert index.containing(("unlicensed", "licens", "stem")) == sorted(
        set(_by_find(TEXT, "unlicensed")) | set(_by_find(TEXT, "licens")) | set(_by_find(TEXT, "stem"))
    )
