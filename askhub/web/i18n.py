"""The pages' words: see :mod:`askhub.i18n` (gettext catalogues in ``askhub/locale``).

Kept so that ``from askhub.web.i18n import translator`` keeps working; new words go into the
catalogue (``python -m askhub.tools.i18n extract`` lists the missing ones).
"""

from askhub.i18n import (
    DEFAULT,
    LANGUAGES,
    PluralTranslator,
    Translator,
    from_accept_language,
    language_for,
    plural_translator,
    reader_language,
    translator,
)

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "PluralTranslator",
    "Translator",
    "from_accept_language",
    "language_for",
    "plural_translator",
    "reader_language",
    "translator",
]
