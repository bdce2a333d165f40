"""docs/glossary.md is the one list of terms; the catalogues follow it.

For every glossary row that names a msgid, the page shows under zh-hans exactly the row's
zh-hans (whichever catalogue wins: ours, or a third party's that ranks higher). Every term
issue #15 asked for is in the glossary, and no catalogue of ours uses a word the glossary
says to avoid. No database: run it like tests/test_translations.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.test_translations import _compile_stale_catalogues, our_catalogues, parse_po

GLOSSARY = Path(settings.BASE_DIR) / "docs" / "glossary.md"
COLUMNS = ["code name", "zh-hans", "English", "msgid", "context", "avoid", "notes"]

# The terms issue #15 (item 2) names, as 综治 staff write them.
REQUIRED = [
    "结案",
    "核查通过",
    "督办层级",
    "筛选",
    "职责",
    "双因素认证登录",
    "安全审计员",
    "救助保护中心",
    "工程",
    "流程记录",
    "编码",
    "区划代码",
    "集中收置",
    "分散安置",
    "500万元以上固定资产投资增长",
    "在册人员",
    "育新工程",
    "回归工程（刑释解戒人员）",
    "不予受理",
    "代理诉讼",
]


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.cells[key]


def _cell(text: str) -> str:
    return text.strip().strip("`").strip()


def glossary_rows(text: str) -> list[Row]:
    """The rows of every table whose header is the glossary's columns."""
    rows: list[Row] = []
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [_cell(c) for c in line.strip().strip("|").split("|")]
        if cells == COLUMNS:
            in_table = True
            continue
        if not in_table or set("".join(cells)) <= set("-: "):
            continue
        assert len(cells) == len(COLUMNS), f"glossary line {number}: {len(cells)} cells"
        rows.append(Row(number, dict(zip(COLUMNS, cells, strict=True))))
    return rows


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    _compile_stale_catalogues()
    return glossary_rows(GLOSSARY.read_text(encoding="utf-8"))


def shown(msgid: str, context: str) -> str:
    with translation.override("zh-hans"):
        return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


def test_the_glossary_has_rows_and_msgids(rows):
    assert len(rows) >= 60
    assert sum(1 for row in rows if row["msgid"]) >= 60


def test_every_row_shows_its_chinese_for_its_msgid(rows):
    wrong = [
        f"line {row.line}: {row['msgid']!r} ({row['context'] or 'no context'}) shows "
        f"{shown(row['msgid'], row['context'])!r}, the glossary says {row['zh-hans']!r}"
        for row in rows
        if row["msgid"] and shown(row["msgid"], row["context"]) != row["zh-hans"]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_glossary_covers_the_terms_the_issue_asked_for(rows):
    terms = {row["zh-hans"] for row in rows}
    assert [term for term in REQUIRED if term not in terms] == []


def test_no_catalogue_of_ours_uses_an_avoided_word(rows):
    avoided = {word.strip(): row for row in rows for word in row["avoid"].split(",") if word.strip()}
    assert len(avoided) >= 8
    found = []
    for name, po in our_catalogues().items():
        for entry in parse_po(po, name):
            found += [
                f"{name}: {entry.msgid!r} → {entry.msgstr!r} uses {word!r} "
                f"(glossary line {row.line}: {row['zh-hans']})"
                for word, row in avoided.items()
                if word in entry.msgstr
            ]
    assert not found, "\n".join(found)


def test_the_check_fails_on_a_wrong_row():
    """A planted row whose Chinese is not the catalogue's is reported (the check can fail)."""
    header = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    planted = glossary_rows(header + "| `x` | 关闭 | Close | Close | incident action | | |\n")
    assert len(planted) == 1
    assert shown(planted[0]["msgid"], planted[0]["context"]) != planted[0]["zh-hans"]
    assert re.search("结案", shown("Close", "incident action"))
