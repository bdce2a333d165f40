"""Every English msgid of ours shows the Chinese its own catalogue gives it.

Django merges every translation catalogue into one per language: the project's ``locale/``
first, then the installed apps in INSTALLED_APPS order (an app listed earlier wins), then
Django's own. A short msgid such as "Name", "Close" or "Person" is therefore shown with
whichever catalogue ranks highest: django-celery-beat's "任务名" for a person's name, the
admin's "关闭" for closing a case (结案), mediation's "自然人" (a party who is a natural
person) on the special-population task list. The cure is a context (``pgettext_lazy("person",
"name")``, ``{% translate "Close" context "incident action" %}``) or one meaning per msgid.

These tests read our own catalogues (the root ``locale/`` and each of our apps' ``locale/``)
and fail when

- a msgid of ours is shown, under zh-hans, with any other text than ours (another app or a
  third-party package ranks higher and says something else);
- two of our catalogues translate the same msgid (in the same context) differently, so one
  of them is silently overridden;
- a translation is empty, or the same sentence written out several times over.

``test_the_check_catches_a_planted_collision`` plants a higher-ranking catalogue that
says something else and shows the check reports it, so the check itself can fail.
"""

from __future__ import annotations

import ast
import gettext as gettext_module
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real
from django.utils.translation.template import templatize

BASE_DIR = Path(settings.BASE_DIR)
LANGUAGE = "zh-hans"
LOCALE = "zh_Hans"


@dataclass(frozen=True)
class Entry:
    catalogue: str
    context: str | None
    msgid: str
    msgid_plural: str | None
    msgstr: str  # msgstr, or msgstr[0] for a plural entry


def parse_po(path: Path, catalogue: str) -> list[Entry]:
    """The translated, non-fuzzy, non-obsolete entries of a .po file (what msgfmt compiles)."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    key: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal fields, fuzzy, key
        if fields.get("msgid") and not fuzzy:
            entries.append(
                Entry(
                    catalogue=catalogue,
                    context=fields.get("msgctxt"),
                    msgid=fields["msgid"],
                    msgid_plural=fields.get("msgid_plural"),
                    msgstr=fields.get("msgstr", fields.get("msgstr[0]", "")),
                )
            )
        fields, fuzzy, key = {}, False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#~") or line.startswith("#|"):
            continue
        elif line.startswith("#,"):
            if "msgid" in fields:
                flush()
            fuzzy = fuzzy or "fuzzy" in line
        elif line.startswith("#"):
            if "msgid" in fields:
                flush()
        elif line.startswith('"'):
            assert key is not None, f"{path}: a string continues nothing: {raw!r}"
            fields[key] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            if keyword in ("msgctxt", "msgid") and "msgid" in fields:
                flush()  # an entry with no blank line or comment before it
            key = keyword
            fields[key] = ast.literal_eval(value)
    flush()
    return entries


def our_catalogues(domain: str = "django") -> dict[str, Path]:
    """The root catalogue and each of our apps' (apps that live in this repository)."""
    found = {}
    root = BASE_DIR / "locale" / LOCALE / "LC_MESSAGES" / f"{domain}.po"
    if root.exists():
        found["locale/"] = root
    for config in apps.get_app_configs():
        path = Path(config.path)
        if BASE_DIR not in path.parents or ".venv" in path.parts:
            continue
        po = path / "locale" / LOCALE / "LC_MESSAGES" / f"{domain}.po"
        if po.exists():
            found[f"{config.label}/locale/"] = po
    return found


def _compile_stale_catalogues() -> None:
    """make test compiles the catalogues; a run of this file alone compiles what is stale."""
    stale = False
    for domain in ("django", "djangojs"):
        for po in our_catalogues(domain).values():
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)
                stale = True
    if stale:  # forget the catalogues read before: Django's and the gettext module's caches
        gettext_module._translations.clear()
        trans_real._translations = {}
        trans_real._default = None
        trans_real.translation_catalog_exists.cache_clear()


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogues():
    _compile_stale_catalogues()


def shown(entry: Entry, domain: str = "django") -> str:
    """What a zh-hans page shows for this entry, from the merged catalogue."""
    if domain == "django":
        with translation.override(LANGUAGE):
            if entry.msgid_plural:
                if entry.context:
                    return translation.npgettext(entry.context, entry.msgid, entry.msgid_plural, 1)
                return translation.ngettext(entry.msgid, entry.msgid_plural, 1)
            if entry.context:
                return translation.pgettext(entry.context, entry.msgid)
            return translation.gettext(entry.msgid)
    # The JavaScript catalogue (/jsi18n/) merges every installed app's djangojs catalogue
    # the same way (JavaScriptCatalog without packages).
    merged = trans_real.DjangoTranslation(LANGUAGE, domain=domain)
    if entry.msgid_plural:
        if entry.context:
            return merged.npgettext(entry.context, entry.msgid, entry.msgid_plural, 1)
        return merged.ngettext(entry.msgid, entry.msgid_plural, 1)
    if entry.context:
        return merged.pgettext(entry.context, entry.msgid)
    return merged.gettext(entry.msgid)


def overridden(domain: str = "django") -> list[str]:
    problems = []
    for name, po in our_catalogues(domain).items():
        for entry in parse_po(po, name):
            if not entry.msgstr:
                continue
            got = shown(entry, domain)
            if got != entry.msgstr:
                where = f"[{entry.context}] " if entry.context else ""
                problems.append(f"{name}: {where}{entry.msgid!r} should read {entry.msgstr!r}, shows {got!r}")
    return problems


def disagreements(domain: str = "django") -> list[str]:
    meanings: dict[tuple[str | None, str], dict[str, list[str]]] = {}
    for name, po in our_catalogues(domain).items():
        for entry in parse_po(po, name):
            meanings.setdefault((entry.context, entry.msgid), {}).setdefault(entry.msgstr, []).append(name)
    return [
        f"[{context}] {msgid!r}: "
        + "; ".join(f"{text!r} in {', '.join(names)}" for text, names in texts.items())
        for (context, msgid), texts in meanings.items()
        if len(texts) > 1
    ]


def test_we_have_catalogues_to_check():
    catalogues = our_catalogues()
    assert "locale/" in catalogues and "incidents/locale/" in catalogues and len(catalogues) >= 7
    assert sum(len(parse_po(po, name)) for name, po in catalogues.items()) > 1000
    assert "locale/" in our_catalogues("djangojs")


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_msgid_shows_its_own_catalogues_chinese(domain):
    problems = overridden(domain)
    assert not problems, (
        f"{len(problems)} msgids show another catalogue's Chinese; give the msgid a context "
        "(pgettext_lazy / {% translate ... context ... %}) or one meaning:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_no_two_of_our_catalogues_translate_a_msgid_differently(domain):
    problems = disagreements(domain)
    assert not problems, "the same msgid, translated differently (only one can win):\n" + "\n".join(problems)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_entry_is_translated_once(domain):
    problems = []
    for name, po in our_catalogues(domain).items():
        for entry in parse_po(po, name):
            text = entry.msgstr
            if not text.strip():
                problems.append(f"{name}: {entry.msgid!r} has no translation")
                continue
            for times in range(2, 6):
                part = len(text) // times
                if part >= 4 and len(text) % times == 0 and text == text[:part] * times:
                    problems.append(f"{name}: {entry.msgid!r} repeats its translation {times} times")
    assert not problems, "\n".join(problems)


KEYWORDS = [
    "--keyword=_",
    "--keyword=gettext",
    "--keyword=gettext_lazy",
    "--keyword=gettext_noop",
    "--keyword=pgettext:1c,2",
    "--keyword=pgettext_lazy:1c,2",
    "--keyword=ngettext:1,2",
    "--keyword=ngettext_lazy:1,2",
    "--keyword=npgettext:1c,2,3",
    "--keyword=npgettext_lazy:1c,2,3",
]
NOT_SHIPPED = {
    ".venv",
    "node_modules",
    "tests",
    "migrations",
    "loadtest",
    "bench",
    "scripts",
    ".local",
    "static",
}


def used_msgids(domain: str) -> set[tuple[str | None, str]]:
    """(context, msgid) of every string our code marks for translation, found as
    ``make messages`` finds them (templates through Django's templatize, then xgettext)."""
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        if domain == "django":
            for path in sorted(BASE_DIR.rglob("*")):
                relative = path.relative_to(BASE_DIR)
                if NOT_SHIPPED & set(relative.parts):
                    continue
                if path.suffix == ".py":
                    files.append(str(path))
                elif path.suffix in (".html", ".txt") and "templates" in relative.parts:
                    converted = Path(tmp) / f"{len(files)}.py"
                    converted.write_text(templatize(path.read_text(encoding="utf-8"), origin=str(path)))
                    files.append(str(converted))
            language = "Python"
        else:
            files = [str(p) for p in sorted((BASE_DIR / "static" / "js").rglob("*.js"))]
            language = "JavaScript"
        pot = Path(tmp) / "used.pot"
        subprocess.run(
            [
                "xgettext",
                "--from-code=UTF-8",
                "-L",
                language,
                *KEYWORDS,
                "--no-location",
                "-o",
                str(pot),
                *files,
            ],
            check=True,
            capture_output=True,
        )
        return {(e.context, e.msgid) for e in parse_po(pot, "used")} if pot.exists() else set()


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_string_our_code_marks_has_our_chinese(domain):
    """A msgid our code uses but no catalogue of ours translates shows English, or a
    third-party package's Chinese for another meaning."""
    ours = {
        (e.context, e.msgid)
        for name, po in our_catalogues(domain).items()
        for e in parse_po(po, name)
        if e.msgstr
    }
    missing = sorted(used_msgids(domain) - ours, key=lambda k: (k[0] or "", k[1]))
    assert not missing, f"{len(missing)} msgids with no Chinese of ours:\n" + "\n".join(
        f"[{context}] {msgid!r}" if context else repr(msgid) for context, msgid in missing
    )


def test_the_check_catches_a_planted_collision(tmp_path, settings):
    """A catalogue ranking above ours (here an extra LOCALE_PATHS entry, as a third-party app
    listed before ours would) that gives one of our msgids another meaning is reported."""
    victim = next(
        e for e in parse_po(our_catalogues()["special_groups/locale/"], "x") if e.msgid == "Caseload"
    )
    planted = tmp_path / LOCALE / "LC_MESSAGES"
    planted.mkdir(parents=True)
    (planted / "django.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Caseload"\nmsgstr "案件量"\n',
        encoding="utf-8",
    )
    subprocess.run(["msgfmt", "-o", str(planted / "django.mo"), str(planted / "django.po")], check=True)
    assert not any("'Caseload'" in p for p in overridden())
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]  # resets Django's translation caches
    problems = overridden()
    assert f"special_groups/locale/: 'Caseload' should read {victim.msgstr!r}, shows '案件量'" in problems
