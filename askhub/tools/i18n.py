"""The catalogues against the code: which messages are missing or untranslated.

    python -m askhub.tools.i18n check     # exit 1 when a message is missing or untranslated
    python -m askhub.tools.i18n update    # add missing messages (empty, to translate) to nl

Messages are the first argument of ``t(...)`` (and the first two of ``tn(...)``) in Python
files and templates, and ``{% trans %}`` blocks; ``babel.cfg`` says which files are read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from askhub.i18n import DEFAULT, LANGUAGES, catalogue_path

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    # Errors raised with a fixed message reach people as it is: they are messages too.
    "InputError": None,
    "ConflictError": None,
    "CallError": None,
    "LinkError": None,
    "PermissionError": None,
    "NotPermitted": None,
    "NotFound": None,
    "NotEnoughHistory": None,
    "AudienceTooSmall": None,
    # The CLI's one line on stderr before exit 2: fail("no call with id {id}", id=...).
    "fail": None,
    # ... and its one line on stdout on success: say("call {id} closed", id=...).
    "say": None,
    "SettingError": None,
    "N_": None,
    "t": None,
    "tn": (1, 2),
    "gettext": None,
    "ngettext": (1, 2),
    "_": None,
}

Message = str | tuple[str, str]


def extract() -> dict[Message, list[str]]:
    """Every message id the code and templates use, with where it is used."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[Message, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if isinstance(message, tuple):
            # A plural: (singular, plural); a call with a non-literal argument gives None.
            if not all(message[:2]):
                continue
            key: Message = (str(message[0]), str(message[1]))
        elif not message:
            continue
        else:
            key = str(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def load(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as po:
        return read_po(po, locale=lang)


def _id(message: str | tuple[str, ...] | list[str]) -> str:
    return message if isinstance(message, str) else message[0]


def missing(catalog: Catalog, used: dict[Message, list[str]]) -> list[Message]:
    """Used messages the catalogue lacks, or has without plural forms when used as a plural."""
    found = []
    for message in used:
        entry = catalog.get(_id(message))
        if entry is None or (isinstance(message, tuple) and not entry.pluralizable):
            found.append(message)
    return found


def untranslated(catalog: Catalog) -> list[str]:
    """Ids whose translation is empty (or any plural form is), or marked fuzzy."""
    bad = []
    for entry in catalog:
        if not entry.id:
            continue
        strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
        if entry.fuzzy or not all(strings):
            bad.append(_id(entry.id))
    return bad


def update(lang: str, used: dict[Message, list[str]]) -> int:
    catalog = load(lang)
    added = missing(catalog, used)
    for message in added:
        if isinstance(message, tuple):
            catalog.add(message, ("", ""), locations=[])
        else:
            catalog.add(message, "", locations=[])
    with catalogue_path(lang).open("wb") as po:
        write_po(po, catalog, width=100, omit_header=False, no_location=True, sort_output=False)
    return len(added)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    used = extract()
    others = [lang for lang in LANGUAGES if lang != DEFAULT]
    if command == "update":
        for lang in others:
            print(f"{lang}: {update(lang, used)} message(s) added")
        return 0
    if command != "check":
        print(f"unknown command {command!r}: use check or update", file=sys.stderr)
        return 2
    failed = False
    for lang in others:
        catalog = load(lang)
        for message in missing(catalog, used):
            failed = True
            print(f"{lang}: missing {_id(message)!r} ({', '.join(used[message][:2])})")
        for message_id in untranslated(catalog):
            failed = True
            print(f"{lang}: not translated {message_id!r}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
