"""Chinese-aware text for search: what a document is indexed as, what a query asks for, and
where a result's matched words are.

PostgreSQL's own parser does not split Chinese into words, so the words are found here with
``jieba`` and handed to PostgreSQL already split:

- a document is the ``cut_for_search`` words of its fields (so the two-character words inside a
  longer word are there too: 人民调解委员会 gives 人民, 调解, 委员, 委员会 ...), each weighted by
  its field (A: what the record is called, B: its text), plus every two-character piece of each
  run of Chinese characters at weight D, so a two-character word is found wherever jieba drew
  its lines in that sentence (垃圾堆放 is cut as 垃圾 / 垃圾堆 / 放, yet 堆放 is found);
- it is written as a ``tsvector`` literal (quoted lexemes with positions and weights), which
  PostgreSQL stores as given, so no text search configuration re-splits or stems the words
  (the same literal on any server locale);
- a query is cut the same way; each word must be present, as itself or as its run of
  two-character pieces in a row (``'人民调解' | '人民' <-> '民调' <-> '调解'``), and lone
  single characters are dropped when the query has longer words (they are mostly particles).

Text is lower-cased (Latin letters) and anything that is not a letter or a digit is dropped from
the lexemes, so no quote, backslash or operator ever reaches PostgreSQL's parsers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jieba

jieba.setLogLevel(logging.WARNING)

# A query longer than this is refused (400): nobody types a paragraph into a search box, and the
# words of a longer one would make a query no index answers quickly.
MAX_QUERY_LENGTH = 100
# At most this many words of a query are used.
MAX_QUERY_WORDS = 16
# Each field is indexed up to this many characters (descriptions are rarely longer).
MAX_FIELD_LENGTH = 4000
# Longer "words" (a pasted hash, a run of digits) are not indexed.
MAX_LEXEME_LENGTH = 60
# tsvector positions run from 1 to 16383.
MAX_POSITION = 16383

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
NOT_WORD = re.compile(r"[^\w]|_", re.UNICODE)


def normalise(token: str) -> str:
    """A lexeme: lower case, letters and digits only."""
    return NOT_WORD.sub("", token.lower())


def words(text: str) -> list[str]:
    """The ``cut_for_search`` words of ``text``, normalised, empty ones dropped."""
    found = (normalise(t) for t in jieba.cut_for_search(text or ""))
    return [w for w in found if w and len(w) <= MAX_LEXEME_LENGTH]


def bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _quote(lexeme: str) -> str:
    # ``normalise`` leaves only letters and digits, so there is nothing to escape.
    return f"'{lexeme}'"


def document(fields: Sequence[tuple[str, str]]) -> str:
    """A ``tsvector`` literal for ``fields``: ``(weight, text)`` pairs, weight A-D."""
    positions: dict[str, list[str]] = {}
    position = 0

    def add(lexeme: str, weight: str) -> None:
        nonlocal position
        position = min(position + 1, MAX_POSITION)
        positions.setdefault(lexeme, []).append(f"{position}{weight}")

    for weight, text in fields:
        text = (text or "")[:MAX_FIELD_LENGTH]
        for word in words(text):
            add(word, weight)
        position += 1  # fields are not one phrase
        for run in CJK.findall(text):
            for piece in bigrams(run):
                add(piece, "D")
            position += 1
    # A lexeme keeps at most 256 positions; the first ones are enough for ranking.
    return " ".join(f"{_quote(lexeme)}:{','.join(places[:256])}" for lexeme, places in positions.items())


@dataclass(frozen=True)
class Query:
    """A search as typed, and what it asks PostgreSQL for."""

    text: str
    terms: tuple[str, ...]

    @property
    def tsquery(self) -> str:
        """A ``tsquery`` literal: every term, as itself or as its two-character pieces in a row."""
        parts = []
        for term in self.terms:
            pieces = bigrams(term) if CJK.fullmatch(term) and len(term) > 2 else []
            if pieces:
                phrase = " <-> ".join(_quote(piece) for piece in pieces)
                parts.append(f"( {_quote(term)} | ( {phrase} ) )")
            else:
                parts.append(_quote(term))
        return " & ".join(parts)

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse(text: str) -> Query:
    """The search's terms (may be none: then nothing is searched and nothing is found)."""
    text = (text or "").strip()
    found: list[str] = []
    for word in words(text):
        if word not in found:
            found.append(word)
    longer = [w for w in found if len(w) > 1 or not CJK.fullmatch(w)]
    terms = longer if longer else found
    return Query(text=text, terms=tuple(terms[:MAX_QUERY_WORDS]))


SNIPPET_LENGTH = 80


def snippet(text: str, terms: Iterable[str], length: int = SNIPPET_LENGTH) -> list[tuple[str, bool]]:
    """A piece of ``text`` around its first matched term, as ``(part, matched)`` pairs, so a page
    marks the matches with the template's own escaping and the API can give their offsets."""
    text = " ".join((text or "").split())
    pattern = _terms_pattern(terms)
    first = pattern.search(text) if pattern else None
    start = 0
    if first and first.start() > length // 3:
        start = first.start() - length // 3
    piece = text[start : start + length]
    prefix = "…" if start else ""
    suffix = "…" if start + length < len(text) else ""
    parts: list[tuple[str, bool]] = []
    if prefix:
        parts.append((prefix, False))
    at = 0
    for match in pattern.finditer(piece) if pattern else ():
        if match.start() > at:
            parts.append((piece[at : match.start()], False))
        parts.append((match.group(0), True))
        at = match.end()
    if at < len(piece):
        parts.append((piece[at:], False))
    if suffix:
        parts.append((suffix, False))
    return parts


def contains_any(text: str, terms: Iterable[str]) -> bool:
    pattern = _terms_pattern(terms)
    return bool(pattern and pattern.search(text or ""))


def _terms_pattern(terms: Iterable[str]):
    unique = sorted({t for t in terms if t}, key=len, reverse=True)
    if not unique:
        return None
    return re.compile("|".join(re.escape(t) for t in unique), re.IGNORECASE)


def warm_up() -> None:
    """Load jieba's dictionary now (``anshun.warmup``), not in the first search."""
    jieba.initialize()
