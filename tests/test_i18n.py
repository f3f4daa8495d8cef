"""The catalogues: every message the code uses is in them, translated; the reader's language."""

from __future__ import annotations

from askhub.i18n import localise, plural_translator, reader_language, translator
from askhub.tools.i18n import extract, load, missing, untranslated
from models import Person


def test_every_message_the_code_uses_is_in_the_dutch_catalogue_and_translated() -> None:
    used = extract()
    # Extraction really reads Python, page templates and email templates.
    assert "Sign in" in used and "Why you" in used
    assert ("{n} answer", "{n} answers") in used
    assert any(place.endswith(".j2:" + place.rsplit(":", 1)[1]) for m in used for place in used[m])
    catalog = load("nl")
    assert missing(catalog, used) == []
    assert untranslated(catalog) == []
    # English ids that are keys (status:open) have their English in the en catalogue.
    english = load("en")
    assert untranslated(english) == [] and english.get("status:filled").string == "filled"


def test_plural_forms_follow_the_number() -> None:
    nl, en = plural_translator("nl"), plural_translator("en")
    assert nl("{n} answer.", "{n} answers.", 1) == "1 antwoord."
    assert nl("{n} answer.", "{n} answers.", 2) == "2 antwoorden."
    assert en("{n} answer.", "{n} answers.", 1) == "1 answer."
    assert en("{n} answer.", "{n} answers.", 0) == "0 answers."


def test_the_reader_language_is_its_own_setting_then_the_first_language_spoken() -> None:
    only_dutch = Person(handle="a", name="A", languages=["nl"])
    dutch_first = Person(handle="b", name="B", languages=["nl", "en"])
    chose_english = Person(handle="c", name="C", languages=["nl"], ui_language="en")
    german_then_dutch = Person(handle="d", name="D", languages=["de", "nl"])
    german = Person(handle="e", name="E", languages=["de"])
    assert reader_language(only_dutch) == "nl"
    assert reader_language(dutch_first, "en") == "nl"
    assert reader_language(chose_english, "nl") == "en"
    assert reader_language(german_then_dutch) == "nl"
    assert reader_language(german) == "en" and reader_language(german, "nl") == "nl"
    # Anonymous pages: an explicit ?lang= choice, else the browser.
    assert reader_language(None, "en", choice="nl") == "nl"
    assert reader_language(None, "nl", choice="xx") == "nl"
    assert translator("nl")("{name} asks: {title}", name="Demo Gebruiker", title="x") == (
        "Demo Gebruiker vraagt: x"
    )


def test_askhubs_own_validation_messages_with_values_are_translated_with_the_values_kept() -> None:
    utc = "field `deadline` must lie between the years 1 and 9999 in UTC - at `$.deadline`"
    assert localise(utc, "nl") == (
        "Het veld `deadline` moet in UTC tussen de jaren 1 en 9999 liggen - bij `$.deadline`"
    )
    assert localise(utc, "en") == utc
    assert (
        localise("JSON nested deeper than 32 levels", "nl") == "JSON dieper genest dan 32 niveaus"
    )
