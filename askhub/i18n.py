"""Dutch and English for everything people read: pages, nudges, one-click pages, validation
errors and CLI messages.

The words live in gettext catalogues, ``askhub/locale/<lang>/LC_MESSAGES/messages.po``, with
the English text as the message id (``python -m askhub.tools.i18n extract`` finds them in the
code and templates). The ``.po`` files are compiled in memory on first use, so a fresh clone
needs no build step and a stale ``.mo`` can never hide a translation. Placeholders are
``str.format`` style (``{name}``); plurals use ``ngettext`` (``1 antwoord``, ``2 antwoorden``).

The reader's language (:func:`reader_language`) is a setting of its own, separate from the
languages a person speaks: the language chosen with the NL/EN switch, else the first language
the person speaks that AskHub has, else the browser's, else English.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from models import Person

LANGUAGES = ("en", "nl")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


class Translator(Protocol):
    def __call__(self, message: str, **values: Any) -> str: ...


class PluralTranslator(Protocol):
    def __call__(self, singular: str, plural: str, n: int, **values: Any) -> str: ...


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of ``lang``; message ids that only English spells differently
    (``status:open``) fall back to the English catalogue."""
    english = _compile(DEFAULT)
    if lang == DEFAULT or lang not in LANGUAGES:
        return english
    chosen = _compile(lang)
    chosen.add_fallback(english)
    return chosen


def _compile(lang: str) -> Translations:
    with catalogue_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def supported(lang: str | None) -> str | None:
    value = (lang or "").strip().lower()
    return value if value in LANGUAGES else None


def translator(lang: str) -> Translator:
    catalogue = translations(lang)

    def t(message: str, **values: Any) -> str:
        text = catalogue.gettext(message)
        return text.format(**values) if values else text

    return t


def plural_translator(lang: str) -> PluralTranslator:
    """``tn("{n} answer", "{n} answers", n)``: the form the language needs for ``n``."""
    catalogue = translations(lang)

    def tn(singular: str, plural: str, n: int, **values: Any) -> str:
        return catalogue.ngettext(singular, plural, n).format(n=n, **values)

    return tn


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (``nl-NL,nl;q=0.9,en;q=0.8``)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in LANGUAGES:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (-quality, position, lang)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def person_language(person: Person | None) -> str | None:
    """The language ``person`` reads, if the person tells: the switch's choice, else the first
    language they speak that AskHub has (someone who speaks only Dutch reads Dutch)."""
    if person is None:
        return None
    chosen = supported(getattr(person, "ui_language", None))
    if chosen:
        return chosen
    for spoken in person.languages or []:
        if supported(spoken):
            return supported(spoken)
    return None


def reader_language(
    person: Person | None, accept_language: str | None = None, choice: str | None = None
) -> str:
    """The language to write to ``person`` in. ``choice`` is an explicit ``?lang=`` of an
    anonymous page; nudges pass no browser header and fall back to English."""
    if person is None and supported(choice):
        return supported(choice) or DEFAULT
    return person_language(person) or from_accept_language(accept_language) or DEFAULT


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The CLI's language: ``ASKHUB_LANG``, else the POSIX locale (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``: ``nl_NL.UTF-8`` → ``nl``), else English."""
    env = os.environ if environ is None else environ
    for name in ("ASKHUB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return supported(value.split("_")[0].split(".")[0]) or DEFAULT
    return DEFAULT


# The older name, kept for callers that pass the Accept-Language header.
def language_for(person: Person | None, accept_language: str | None) -> str:
    return reader_language(person, accept_language)


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (tables of messages)."""
    return message


# msgspec's validation messages (pages and API) as message ids with placeholders; the field
# name (``at `$.title```) is kept as it is, it names the field in the form or JSON.
_TYPES = {
    "str": N_("text"),
    "int": N_("a whole number"),
    "float": N_("a number"),
    "bool": N_("true or false"),
    "array": N_("a list"),
    "object": N_("an object"),
    "null": N_("nothing"),
}
_VALIDATION = [
    (
        re.compile(r"Expected `str` of length >= (?P<n>\d+)"),
        N_("Expected text of at least {n} characters"),
    ),
    (
        re.compile(r"Expected `str` of length <= (?P<n>\d+)"),
        N_("Expected text of at most {n} characters"),
    ),
    (
        re.compile(r"Expected `array` of length >= (?P<n>\d+)"),
        N_("Expected a list of at least {n} items"),
    ),
    (
        re.compile(r"Expected `array` of length <= (?P<n>\d+)"),
        N_("Expected a list of at most {n} items"),
    ),
    (
        re.compile(r"Expected `(?:int|float)` >= (?P<n>[-\d.]+)"),
        N_("Expected a number of at least {n}"),
    ),
    (
        re.compile(r"Expected `(?:int|float)` <= (?P<n>[-\d.]+)"),
        N_("Expected a number of at most {n}"),
    ),
    (re.compile(r"Expected `(?:int|float)` > (?P<n>[-\d.]+)"), N_("Expected a number above {n}")),
    (re.compile(r"Expected `(?:int|float)` < (?P<n>[-\d.]+)"), N_("Expected a number below {n}")),
    (
        re.compile(r"Expected `str` matching regex (?P<regex>.+?)(?= - at |$)"),
        N_("Expected text in the form {regex}"),
    ),
    (re.compile(r"Expected `(?P<type>\w+)`, got `(?P<got>\w+)`"), N_("Expected {type}, got {got}")),
    (re.compile(r"Expected `(?P<type>\w+)`"), N_("Expected {type}")),
    (
        re.compile(r"Object missing required field `(?P<field>[^`]+)`"),
        N_("The field `{field}` is required"),
    ),
    (
        re.compile(r"Object contains unknown field `(?P<field>[^`]+)`"),
        N_("Unknown field `{field}`"),
    ),
    (
        re.compile(r"Invalid enum value (?P<value>.+?)(?= - at |$)"),
        N_("Not one of the choices: {value}"),
    ),
    (
        re.compile(r"Invalid RFC3339 encoded datetime"),
        N_("Expected a date and time (2026-05-01T09:00:00Z)"),
    ),
    (re.compile(r"Invalid RFC3339 encoded date"), N_("Expected a date (2026-05-01)")),
    # AskHub's own checks that msgspec or the request bounds report the same way.
    (
        re.compile(r"field `(?P<field>[^`]+)` must lie between the years 1 and 9999 in UTC"),
        N_("The field `{field}` must lie between the years 1 and 9999 in UTC"),
    ),
    (
        re.compile(r"JSON nested deeper than (?P<n>\d+) levels"),
        N_("JSON nested deeper than {n} levels"),
    ),
]
_AT = re.compile(r" - at (`[^`]+`)$")


def localise(message: str, lang: str) -> str:
    """``message`` in ``lang``: a catalogue message as it is, or a validation message of
    msgspec (``Expected `str` of length >= 3 - at `$.title```) with its field kept."""
    t = translator(lang)
    translated = t(message)
    if translated != message or lang == DEFAULT:
        return translated
    at = _AT.search(message)
    core = message[: at.start()] if at else message
    for pattern, template in _VALIDATION:
        found = pattern.fullmatch(core)
        if found:
            values = {
                key: t(_TYPES[value]) if key in ("type", "got") and value in _TYPES else value
                for key, value in found.groupdict().items()
            }
            where = " - " + t("at {field}", field=at.group(1)) if at else ""
            return t(template, **values) + where
    return message


def localise_error(exc: BaseException, lang: str) -> str:
    """An error's words in ``lang``. Errors that carry values (``Worded`` ones of
    askhub.validation) are translated by their message id and then filled in, so a Dutch reader
    reads "geen collega met handle 'x'"; any other error is :func:`localise`d as it reads."""
    message_id = getattr(exc, "message_id", None)
    values = getattr(exc, "values", None)
    if isinstance(message_id, str) and values:
        return translator(lang)(message_id, **values)
    return localise(str(exc), lang)
