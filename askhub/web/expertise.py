"""Moved to ``askhub.people.expertise`` (a rule of the people domain, not of the pages)."""

from askhub.people.expertise import (
    HIDDEN_PREFIX,
    MAX_TOPIC,
    hidden_topics,
    inferred_topics,
    normalise,
    skills_adding,
    skills_hiding,
    skills_showing,
    visible_skills,
)

__all__ = [
    "HIDDEN_PREFIX",
    "MAX_TOPIC",
    "hidden_topics",
    "inferred_topics",
    "normalise",
    "skills_adding",
    "skills_hiding",
    "skills_showing",
    "visible_skills",
]
