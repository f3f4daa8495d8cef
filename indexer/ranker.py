"""A ranker fitted on an organisation's own history: who answered earlier questions.

Candidate generation stays with ``ExpertiseIndex.gather`` (dense + BM25, per person). This
module turns each candidate into features and scores them with a logistic model whose weights
are *fitted*, then calibrated into the probability that the person answers.

No leakage: every feature of a training question is computed from what was known before that
question was asked (``gather(before=...)`` and ``History`` cut at the question's time). The
model is plain numbers (means, scales, coefficients, a Platt calibration), stored as JSON:
portable between processes and readable by a person, with no pickle.

Besides the people with topical evidence, the few people most active just before the question
are candidates too ("recently active"): on every community measured, who answers lately
predicts who answers next, and the ranker learns how much that counts against topic. They are
ranked, but ``topical`` marks them, and the service never *asks* anyone without topical
evidence.
"""

from __future__ import annotations

import bisect
import gc
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from indexer.expertise import ASKED, ExpertiseIndex, Gathered, best_first
from indexer.lexical import tokenize
from indexer.progress import Progress, silent

DAY = 86400.0
# People most active in the weeks before a question who join the candidates (see module doc).
RECENT_CANDIDATES = 30
# People with topical evidence who are featurised and re-ranked, best by the hand-set score.
TOPICAL_CANDIDATES = 200
RECENT_WINDOW_DAYS = 90.0
# How deep the "most active" rankings go: a person's place in the one of everyone's answers
# before the question is a feature (ever_rank), counted up to here; everyone further down
# shares the last place.
ACTIVE_DEPTH = RECENT_CANDIDATES + 64
RANK_DEPTH = 200
FEATURES = (
    "dense_max",
    "dense_top3",
    "dense_count",
    "answer_dense_max",
    "dense_gap",
    "lexical_max",
    "lexical_top3",
    "lexical_count",
    "hand_score",
    "topical",
    "tag_answers",
    "tag_share",
    "tag_recent",
    "asker_tie",
    "answers",
    "activity",
    "recent_7d",
    "recent_30d",
    "recent_180d",
    "days_idle",
    "profile_similarity",
    "skill_match",
    "language_match",
    "asked",
    "answer_rate",
    "decline_rate",
    "ignore_rate",
    "ever_rank",
)
RESPONSES = ("answered", "declined", "ignored")
_TIE = FEATURES.index("asker_tie")


@dataclass
class _PersonHistory:
    answer_stamps: list[float] = field(default_factory=list)
    activity_stamps: list[float] = field(default_factory=list)
    # tag -> sorted stamps of the person's answers carrying it
    tag_stamps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (stamp, outcome) of earlier asks, outcome in RESPONSES
    responses: list[tuple[float, str]] = field(default_factory=list)
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()


class History:
    """What each person did and when: answers (with tags), other activity, reply outcomes.

    Everything is queried "as of" a time, so the same object serves fitting (the past replayed)
    and routing now.
    """

    def __init__(self) -> None:
        self._people: dict[str, _PersonHistory] = defaultdict(_PersonHistory)
        # all answers, sorted by time, for "who was active lately"
        self._answer_log: list[tuple[float, str]] = []
        # (asker, answerer) -> sorted stamps of the answers: people who helped this asker before
        self._links: dict[tuple[str, str], list[float]] = defaultdict(list)
        self._sorted = True
        # Made by _sort, for routing at scale: the answer log as arrays (people coded in name
        # order, so equal counts still rank by name), the answer counts of the log's first n
        # answers as (n, counts), and everyone's history as flat arrays (``_Flat``).
        self._log_stamps: NDArray[np.float64] = np.zeros(0)
        self._log_codes: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._log_names: list[str] = []
        self._codes: dict[str, int] = {}
        self._ever: tuple[int, NDArray[np.int64]] = (0, np.zeros(0, dtype=np.int64))
        # "recent" and "ever": the (start, end) of the log last ranked, the best codes in order
        # and whether that is everyone with an answer there (routing asks for the same again)
        self._ranked: dict[str, tuple[tuple[int, int], NDArray[np.int64], bool]] = {}
        self._flat = _Flat({})

    def add_link(self, asker: str, answerer: str, stamp: float) -> None:
        """``answerer`` answered a question of ``asker`` at ``stamp``."""
        self._links[(asker, answerer)].append(stamp)
        self._sorted = False

    def helped_before(self, asker: str | None, person: str, at: float) -> int:
        if asker is None:
            return 0
        self._sort()
        stamps = self._links.get((asker, person))
        return bisect.bisect_left(stamps, at) if stamps else 0

    def helped_tie(self, asker: str | None, people: Sequence[str], at: float) -> list[float]:
        """``log1p(helped_before(asker, person, at))`` of each person (the ``asker_tie``
        feature; ``math.log1p``, as it always was, to the bit)."""
        if asker is None:
            return [0.0] * len(people)
        self._sort()
        links = self._links
        return [
            math.log1p(bisect.bisect_left(stamps, at)) if (stamps := links.get((asker, p))) else 0.0
            for p in people
        ]

    def add_document(
        self, person: str, kind: str, stamp: float | None, tags: Iterable[str]
    ) -> None:
        if stamp is None or kind == "profile":
            return
        record = self._people[person]
        record.activity_stamps.append(stamp)
        if kind not in ASKED:
            record.answer_stamps.append(stamp)
            self._answer_log.append((stamp, person))
            for tag in tags:
                record.tag_stamps[tag.lower()].append(stamp)
        self._sorted = False

    def add_response(self, person: str, stamp: float, outcome: str) -> None:
        if outcome not in RESPONSES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self._people[person].responses.append((stamp, outcome))
        self._sorted = False

    def set_profile(self, person: str, skills: Iterable[str], languages: Iterable[str]) -> None:
        record = self._people[person]
        record.skills = frozenset(s.lower() for s in skills)
        record.languages = frozenset(lang.lower() for lang in languages)
        self._sorted = False

    def _sort(self) -> None:
        if self._sorted:
            return
        # Millions of small objects are made and none is garbage: the cyclic collector would
        # walk the whole heap (every indexed document) again and again meanwhile.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build()
        finally:
            if collecting:
                gc.enable()
        self._sorted = True

    def _build(self) -> None:
        for record in self._people.values():
            record.answer_stamps.sort()
            record.activity_stamps.sort()
            record.responses.sort()
            for stamps in record.tag_stamps.values():
                stamps.sort()
        for stamps in self._links.values():
            stamps.sort()
        # The answer log in time order (equal times by name) as arrays, people coded in name
        # order: sorted by NumPy, not as a million tuples.
        log = self._answer_log
        size = len(log)
        people = list(map(itemgetter(1), log))
        self._log_names = sorted(set(people))
        code = self._codes = {person: i for i, person in enumerate(self._log_names)}
        log_stamps = np.fromiter(map(itemgetter(0), log), np.float64, size)
        log_codes = np.fromiter(map(code.__getitem__, people), np.int64, size)
        order = np.lexsort((log_codes, log_stamps))
        self._log_stamps = log_stamps[order]
        self._log_codes = log_codes[order]
        self._ever = (0, np.zeros(len(self._log_names), dtype=np.int64))
        self._ranked = {}
        self._flat = _Flat(self._people)

    def recently_active(self, at: float, k: int, exclude: Set[str]) -> list[str]:
        """The ``k`` people with most answers in the window before ``at``."""
        self._sort()
        lo = int(np.searchsorted(self._log_stamps, at - RECENT_WINDOW_DAYS * DAY, side="left"))
        hi = int(np.searchsorted(self._log_stamps, at, side="left"))
        chosen: list[str] = []
        # The most active lately, then the most active ever (the popularity baseline's pick).
        for name, window in (("recent", (lo, hi)), ("ever", (0, hi))):
            chosen += self._most(name, window, k, exclude, chosen)
        return chosen

    def _answers_before(self, end: int) -> NDArray[np.int64]:
        """Answers per person code in the log's first ``end`` answers (counted on from the
        last call's: routing asks for the same ``end`` again, fitting for ever later ones)."""
        done, counts = self._ever
        if end != done:
            if end > done:
                counts = counts + np.bincount(self._log_codes[done:end], minlength=len(counts))
            else:
                counts = np.bincount(self._log_codes[:end], minlength=len(self._log_names))
            self._ever = (end, counts)
        return counts

    def _most(
        self,
        name: str,
        window: tuple[int, int],
        k: int,
        exclude: Set[str],
        chosen: Sequence[str],
    ) -> list[str]:
        """The ``k`` people with most answers in the log's ``window`` (equal counts by name),
        not in ``exclude`` or ``chosen``."""
        if k <= 0:
            return []
        need = k + len(exclude) + len(chosen)
        ranked = self._ranked.get(name)
        if ranked is None or ranked[0] != window or (len(ranked[1]) < need and not ranked[2]):
            start, end = window
            if start == 0:
                counts = self._answers_before(end)
            else:
                counts = np.bincount(self._log_codes[start:end], minlength=len(self._log_names))
            codes = np.flatnonzero(counts)
            # Count first, then name (codes are in name order): one key a person, larger first.
            key = counts[codes] * len(counts) + (len(counts) - 1 - codes)
            depth = max(need, ACTIVE_DEPTH)  # room for the next call's excluded people
            if depth < len(codes):
                top = np.argpartition(-key, depth - 1)[:depth]
                codes, key = codes[top], key[top]
            ranked = self._ranked[name] = (window, codes[np.argsort(-key)], depth >= len(codes))
        picked: list[str] = []
        for code in ranked[1].tolist():
            person = self._log_names[code]
            if person not in exclude and person not in chosen:
                picked.append(person)
                if len(picked) == k:
                    break
        return picked

    def popularity_places(self, people: Sequence[str]) -> NDArray[np.int64]:
        """Each person's place (0 = most answers) among everyone by answers before the time of
        the last ``recently_active`` call (the popularity baseline's order), ``ACTIVE_DEPTH``
        when further down."""
        places = np.full(len(people), ACTIVE_DEPTH, dtype=np.int64)
        ranked = self._ranked.get("ever")
        if ranked is None or not len(ranked[1]):
            return places
        top = ranked[1][:ACTIVE_DEPTH]
        by_code = np.argsort(top)
        codes = np.fromiter(map(self._codes.get, people, repeat(-1)), np.int64, len(people))
        at = np.minimum(np.searchsorted(top[by_code], codes), len(top) - 1)
        hit = top[by_code][at] == codes
        places[hit] = by_code[at[hit]]
        return places

    def person(self, person: str) -> _PersonHistory | None:
        self._sort()
        return self._people.get(person)

    def flat(self) -> _Flat:
        """Everyone's history as flat arrays (made once per change), for featurising many
        candidates at once."""
        self._sort()
        return self._flat


class _Runs:
    """Sorted runs of stamps, one a person code, in one array (``offsets[c]:offsets[c + 1]``),
    with a value per stamp (e.g. the outcome of an ask)."""

    def __init__(self, runs: Sequence[Sequence[float]], values: Sequence[Sequence[int]] = ()):
        lengths = np.fromiter(map(len, runs), np.int64, len(runs))
        self.offsets = np.zeros(len(runs) + 2, dtype=np.int64)  # the last code: nobody
        np.cumsum(lengths, out=self.offsets[1 : len(runs) + 1])
        self.offsets[-1] = self.offsets[-2]
        total = int(self.offsets[-1])
        self.stamps = np.fromiter(chain.from_iterable(runs), np.float64, total)
        self.values = np.fromiter(chain.from_iterable(values), np.int64, total if values else 0)

    def count_before(self, codes: NDArray[np.int64], at: float) -> NDArray[np.int64]:
        """For each code (a candidate row), how many of its stamps are before ``at``: the whole
        run when its last stamp is (routing now: everyone), else found by bisection (only the
        runs that go on past ``at``), never by walking every stamp of the busiest people."""
        starts = self.offsets[codes]
        ends = self.offsets[codes + 1]
        counts = ends - starts
        if not len(self.stamps):
            return counts
        late = np.flatnonzero((counts > 0) & (self.stamps[np.maximum(ends - 1, 0)] >= at))
        for row in late.tolist():
            start = int(starts[row])
            counts[row] = int(np.searchsorted(self.stamps[start : int(ends[row])], at))
        return counts

    def latest(
        self, codes: NDArray[np.int64], counts: NDArray[np.int64], depth: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The last ``depth`` of each row's first ``counts`` stamps: their rows and their index
        in ``stamps``, row by row in time order."""
        take = np.minimum(counts, depth)
        first = self.offsets[codes] + counts - take
        rows = np.repeat(np.arange(len(codes)), take)
        within = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
        return rows, np.repeat(first, take) + within

    def before(
        self, codes: NDArray[np.int64], at: float
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """For each code (a candidate row), the stamps before ``at``: their rows, their place
        in the row's run, their index in ``stamps``, and the count per row."""
        starts = self.offsets[codes]
        lengths = self.offsets[codes + 1] - starts
        total = int(lengths.sum())
        rows = np.repeat(np.arange(len(codes)), lengths)
        within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        index = np.repeat(starts, lengths) + within
        keep = self.stamps[index] < at
        rows, within, index = rows[keep], within[keep], index[keep]
        return rows, within, index, np.bincount(rows, minlength=len(codes))


class _Flat:
    """``History`` as arrays over person codes: answers, activity, asks and their outcomes
    (runs of stamps), languages, and per tag and per skill everyone who has it (``tagged``,
    ``skill_hits``).
    Made by ``History._sort``."""

    def __init__(self, people: Mapping[str, _PersonHistory]) -> None:
        names = sorted(people)
        self.codes = {name: i for i, name in enumerate(names)}
        self.nobody = len(names)
        records = [people[name] for name in names]
        self.answers = _Runs([r.answer_stamps for r in records])
        self.activity = _Runs([r.activity_stamps for r in records])
        outcome = {name: i for i, name in enumerate(RESPONSES)}
        self.responses = _Runs(
            [[stamp for stamp, _ in r.responses] if r.responses else () for r in records],
            [[outcome[o] for _, o in r.responses] if r.responses else () for r in records],
        )
        self.records = records
        # Per language, whether each code speaks it (looked up, not searched, per candidate).
        self._speakers: defaultdict[str, NDArray[np.bool_]] = defaultdict(
            lambda: np.zeros(len(names) + 1, dtype=bool)
        )
        self.has_languages = np.zeros(len(names) + 1, dtype=bool)
        for code, record in enumerate(records):
            for language in record.languages:
                self._speakers[language][code] = True
            self.has_languages[code] = bool(record.languages)
        # Per tag, everyone who answered it (codes ascending) with the runs of those answers'
        # stamps; per skill, everyone who has it. A query's tags and words are looked up for
        # all candidates at once, not candidate by candidate.
        owners: defaultdict[str, list[int]] = defaultdict(list)
        skilled: defaultdict[str, list[int]] = defaultdict(list)
        for code, record in enumerate(records):
            for tag in record.tag_stamps:
                owners[tag].append(code)
            for skill in record.skills:
                skilled[skill].append(code)
        self.tag_runs = {
            tag: (
                np.asarray(codes, dtype=np.int64),
                _Runs([records[c].tag_stamps[tag] for c in codes]),
            )
            for tag, codes in owners.items()
        }
        self.skill_owners = {s: np.asarray(codes, dtype=np.int64) for s, codes in skilled.items()}

    def of(self, people: Iterable[str]) -> NDArray[np.int64]:
        codes, nobody = self.codes, self.nobody
        return np.fromiter(map(codes.get, people, repeat(nobody)), np.int64)

    def tagged(
        self, codes: NDArray[np.int64], tags: Set[str], at: float
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Per code, its answers carrying any of ``tags`` before ``at`` and how many of the tags
        it answered; and for the recency sum, each (code, tag)'s latest ``_RECENCY_DEPTH``
        stamps with their row, row by row (each row's tags in the order of ``tags``)."""
        counts = np.zeros(len(codes), dtype=np.int64)
        known = np.zeros(len(codes), dtype=np.int64)
        rows: list[NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)]
        stamps: list[NDArray[np.float64]] = [np.zeros(0, dtype=np.float64)]
        for tag in tags:
            entry = self.tag_runs.get(tag)
            if entry is None:
                continue
            owners, runs = entry
            place = np.minimum(np.searchsorted(owners, codes), len(owners) - 1)
            local = np.where(owners[place] == codes, place, len(owners))  # else: nobody
            count = runs.count_before(local, at)
            counts += count
            known += count > 0
            tag_rows, index = runs.latest(local, count, _RECENCY_DEPTH)
            rows.append(tag_rows)
            stamps.append(runs.stamps[index])
        all_rows = np.concatenate(rows)
        order = np.argsort(all_rows, kind="stable")
        return counts, known, all_rows[order], np.concatenate(stamps)[order]

    def skill_hits(self, codes: NDArray[np.int64], terms: Set[str]) -> NDArray[np.int64]:
        """Per code, how many of ``terms`` are among its skills."""
        hits = np.zeros(len(codes), dtype=np.int64)
        for term in terms:
            owners = self.skill_owners.get(term)
            if owners is not None:
                place = np.minimum(np.searchsorted(owners, codes), len(owners) - 1)
                hits += owners[place] == codes
        return hits

    def speaks(self, codes: NDArray[np.int64], language: str) -> NDArray[np.bool_]:
        speakers = self._speakers.get(language)
        return np.zeros(len(codes), dtype=bool) if speakers is None else speakers[codes]


def query_language(text: str) -> str | None:
    """ "nl" or "en" by which language's function words the text uses; None when unsure."""
    words = text.lower().split()
    dutch = sum(w in _DUTCH_MARKERS for w in words)
    english = sum(w in _ENGLISH_MARKERS for w in words)
    if dutch == english:
        return None
    return "nl" if dutch > english else "en"


_DUTCH_MARKERS = frozenset("de het een van en is wie wat hoe niet met voor ik wij zijn kan".split())
_ENGLISH_MARKERS = frozenset("the a of and is who what how not with for i we are can".split())


@dataclass(frozen=True)
class Query:
    """A question as the ranker sees it: text, vector, tags, when and by whom."""

    text: str
    vector: NDArray[np.float32] | None
    tags: tuple[str, ...] = ()
    at: float | None = None
    asker: str | None = None


@dataclass
class Candidates:
    people: list[str]
    features: NDArray[np.float64]
    topical: NDArray[np.bool_]
    gathered: Gathered


def candidate_features(
    index: ExpertiseIndex,
    history: History,
    query: Query,
    exclude: Set[str] = frozenset(),
    only: Set[str] | None = None,
    before: float | None = None,
    needed: Set[str] | None = None,
    dense_hits: tuple[NDArray[np.int64], NDArray[np.float32]] | None = None,
) -> Candidates:
    """Candidates for ``query`` and their features (rows in ``FEATURES`` order).

    ``before`` replays the past (fitting); routing now passes None and ``query.at`` is now.
    ``needed`` (routing with a model: ``FittedRanker.needed``) leaves the features the model
    gives no weight at 0 instead of computing them; None computes all (fitting).
    ``dense_hits``: the query's dense search, when the caller searched already.
    """
    excluded = set(exclude) | ({query.asker} if query.asker else set())
    gathered = index.gather(
        query.text, excluded, only, query.vector, before=before, dense_hits=dense_hits
    )
    at = query.at if query.at is not None else time.time()
    # Two stages: the hand-set score picks who is worth featurising (the fitted model re-ranks
    # them); featurising every person with a stray match would cost more than the search.
    # Without the prior: it counts answers given up to now (leakage when replaying the past);
    # the answers feature counts them as of the question.
    names, hand = gathered.people()
    chosen = [i for _, i in best_first(hand, names, TOPICAL_CANDIDATES)]
    people = [names[i] for i in chosen]
    recent = history.recently_active(at, RECENT_CANDIDATES, excluded)
    topical_people = set(people)
    people += [p for p in recent if p not in topical_people and (only is None or p in only)]
    query_tags = {t.lower() for t in query.tags}
    query_terms = set(tokenize(query.text)) | query_tags
    language = query_language(query.text)
    want = set(FEATURES) if needed is None else set(needed)
    rows = _feature_rows(
        history, people, gathered, chosen, hand, at, query_tags, query_terms, language, want
    )
    if "asker_tie" in want:
        rows[:, _TIE] = history.helped_tie(query.asker, people, at)
    if "ever_rank" in want:
        rows[:, _COLUMN["ever_rank"]] = np.log1p(history.popularity_places(people))
    topical = np.zeros(len(people), dtype=bool)
    topical[: len(chosen)] = True
    return Candidates(people, rows, topical, gathered)


# Earlier answers counted in a recency sum: the latest this many.
_RECENCY_DEPTH = 500
_COLUMN = {name: i for i, name in enumerate(FEATURES)}
# Features read from each person's history record (one loop over the candidates).
_HISTORY = frozenset(
    {"tag_answers", "tag_share", "tag_recent", "answers", "activity", "recent_7d", "recent_30d"}
    | {"recent_180d", "days_idle", "skill_match", "language_match", "asked", "answer_rate"}
    | {"decline_rate", "ignore_rate"}
)


def _feature_rows(
    history: History,
    people: Sequence[str],
    gathered: Gathered,
    chosen: Sequence[int],
    hand: NDArray[np.float64],
    at: float,
    query_tags: Set[str],
    query_terms: Set[str],
    language: str | None,
    want: Set[str],
) -> NDArray[np.float64]:
    """Each person's features in ``want`` (``asker_tie`` and ``ever_rank`` left 0), a column
    at a time: the evidence of all candidates straight from the gathered arrays, and the
    history of all candidates as flat arrays. ``people`` starts with the topical ones,
    ``chosen`` their places in ``gathered.people()`` (whose scores ``hand`` holds)."""
    n = len(people)
    features = np.zeros((n, len(FEATURES)), dtype=np.float64)

    def put(name: str, values: NDArray[np.float64] | list[float]) -> None:
        if name in want:
            features[:, _COLUMN[name]] = values

    # Evidence: every matching document of every candidate, flat. Each candidate's place among
    # the gathered people (-1: none; the recently active may have evidence too), and each
    # gathered document's candidate row (-1: not a candidate's).
    groups = gathered._grouped()
    found = np.asarray(
        list(chosen) + [groups.at.get(p, -1) for p in people[len(chosen) :]], dtype=np.int64
    )
    has = found >= 0
    place = np.full(len(groups.names), -1, dtype=np.int64)
    place[found[has]] = np.flatnonzero(has)
    hit_rows = place[groups.inverse]
    mine = hit_rows >= 0
    hit_rows = hit_rows[mine]
    similarity = gathered.similarity[mine]
    lexical = gathered.lexical[mine]
    dense_best, dense_top3, dense_count = _best_three(hit_rows, similarity, n)
    put("dense_max", dense_best)
    put("dense_top3", dense_top3)
    put("dense_count", np.log1p(dense_count))
    if want & {"answer_dense_max", "profile_similarity"}:
        kinds = gathered.kind[mine]
        kind_names = list(gathered.kinds)
        asked_kinds = [i for i, kind in enumerate(kind_names) if kind in ASKED]
        profile = kind_names.index("profile") if "profile" in kind_names else -1
        put("answer_dense_max", _row_max(hit_rows, similarity, ~np.isin(kinds, asked_kinds), n))
        put("profile_similarity", _row_max(hit_rows, similarity, kinds == profile, n))
    # The best dense similarity of anyone's evidence (that of the best dense match when it is
    # someone's evidence: every other document's is lower).
    best_dense = float(gathered.similarity.max(initial=0.0))
    put("dense_gap", dense_best - best_dense)
    lexical_best, lexical_top3, lexical_count = _best_three(hit_rows, lexical, n)
    put("lexical_max", lexical_best)
    put("lexical_top3", lexical_top3)
    put("lexical_count", np.log1p(lexical_count))
    scores = np.zeros(n, dtype=np.float64)
    scores[has] = hand[found[has]]
    put("hand_score", np.log1p(100 * scores))
    put("topical", has.astype(np.float64))

    # History, as of ``at``: every candidate's runs of stamps at once (flat arrays).
    if not want & _HISTORY:
        return features
    flat = history.flat()
    codes = flat.of(people)
    answers = flat.answers.count_before(codes, at)
    put("answers", np.log1p(answers))
    scales = tuple(days for days in (7, 30, 180) if f"recent_{days}d" in want)
    if scales:
        # The latest _RECENCY_DEPTH answers of each candidate before ``at``.
        rows, index = flat.answers.latest(codes, answers, _RECENCY_DEPTH)
        ages = flat.answers.stamps[index] - at
        for days in scales:
            decayed = np.bincount(rows, np.exp(ages / (days * DAY)), minlength=n)
            put(f"recent_{days}d", np.log1p(decayed))
    if want & {"activity", "days_idle"}:
        active = flat.activity.count_before(codes, at)
        put("activity", np.log1p(active))
        idle_days = np.full(n, 3650.0)
        seen = active > 0
        last = flat.activity.stamps[flat.activity.offsets[codes[seen]] + active[seen] - 1]
        idle_days[seen] = np.maximum(at - last, 0.0) / DAY
        put("days_idle", np.log1p(idle_days))
    if want & {"tag_answers", "tag_share", "tag_recent"}:
        tag_answers = np.zeros(n, dtype=np.int64)
        tags_known = np.zeros(n, dtype=np.int64)
        tag_recent = np.zeros(n, dtype=np.float64)
        if query_tags:
            tag_answers, tags_known, window_rows, window = flat.tagged(codes, query_tags, at)
            if len(window) and "tag_recent" in want:
                ages = window - at
                tag_recent = np.bincount(
                    window_rows, np.exp(ages / (30 * DAY)), minlength=n
                ).astype(np.float64)
        put("tag_answers", np.log1p(tag_answers))
        put("tag_share", tags_known / len(query_tags) if query_tags else np.zeros(n))
        put("tag_recent", np.log1p(tag_recent))
    if "skill_match" in want:
        put("skill_match", np.log1p(flat.skill_hits(codes, query_terms)))
    if "language_match" in want:
        language_match = np.full(n, 0.5)
        if language is not None:
            told = flat.has_languages[codes]
            language_match[told] = np.where(flat.speaks(codes[told], language), 1.0, 0.0)
        put("language_match", language_match)
    rows, _, index, asked_counts = flat.responses.before(codes, at)
    outcome = flat.responses.values[index]
    asked = asked_counts.astype(np.float64)
    answered, declined, ignored = (
        np.bincount(rows[outcome == k], minlength=n).astype(np.float64) for k in range(3)
    )
    put("asked", np.log1p(asked))
    put("answer_rate", (answered + 1) / (asked + 2))
    put("decline_rate", np.divide(declined, asked, out=np.zeros(n), where=asked > 0))
    put("ignore_rate", np.divide(ignored, asked, out=np.zeros(n), where=asked > 0))
    return features


def _best_three(
    rows: NDArray[np.int64], values: NDArray[np.float64], n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Per row of ``n``: the best positive value, the sum of the best three (added best first,
    as ``sum(sorted(...)[:3])``) and how many are positive."""
    keep = values > 0
    rows, values = rows[keep], values[keep]
    order = np.lexsort((-values, rows))
    rows, values = rows[order], values[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    best = np.zeros((n, 3), dtype=np.float64)
    top = rank < 3
    best[rows[top], rank[top]] = values[top]
    return best[:, 0], (best[:, 0] + best[:, 1]) + best[:, 2], np.bincount(rows, minlength=n)


def _row_max(
    rows: NDArray[np.int64], values: NDArray[np.float64], where: NDArray[np.bool_], n: int
) -> NDArray[np.float64]:
    """Per row of ``n``, the largest of its ``values`` (all >= 0) where ``where``; else 0."""
    out = np.zeros(n, dtype=np.float64)
    np.maximum.at(out, rows[where], values[where])
    return out


@dataclass(frozen=True)
class FittedRanker:
    """A standardised logistic model with a Platt calibration; plain numbers, JSON-safe."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    platt_a: float
    platt_b: float
    questions: int
    positives: int
    fitted_at: float
    metrics: Mapping[str, float] = field(default_factory=dict)

    @property
    def needed(self) -> frozenset[str]:
        """The features with a weight: the only ones routing has to compute."""
        return frozenset(f for f, c in zip(self.features, self.coef, strict=True) if c != 0.0)

    def logits(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        x = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(x @ np.asarray(self.coef) + self.intercept, dtype=np.float64)

    def probabilities(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated probability that each candidate answers."""
        z = self.platt_a * self.logits(features) + self.platt_b
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "platt_a": self.platt_a,
            "platt_b": self.platt_b,
            "questions": self.questions,
            "positives": self.positives,
            "fitted_at": self.fitted_at,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FittedRanker:
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the stored ranker was fitted on other features; refit it")
        return cls(
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            platt_a=float(data["platt_a"]),
            platt_b=float(data["platt_b"]),
            questions=int(data["questions"]),
            positives=int(data["positives"]),
            fitted_at=float(data["fitted_at"]),
            metrics={k: float(v) for k, v in dict(data.get("metrics", {})).items()},
        )


@dataclass(frozen=True)
class TrainingQuestion:
    query: Query
    answerers: frozenset[str]


@dataclass
class TrainingSet:
    features: NDArray[np.float64]
    labels: NDArray[np.int8]
    groups: NDArray[np.int64]  # question number of each row, in time order
    questions: int


# Leave out this share of the earliest earlier questions: with little history before them,
# their features describe a community that no longer exists (chosen by leave-one-site-out).
WARMUP_SHARE = 0.3
# Learn from at most the latest this many earlier questions: a fit on a large history stays
# fast (replaying a question's search costs as much as routing a call), and the latest
# questions describe the community as it is now. The earlier ones still count in every
# feature (answers, recency, popularity), only they are not replayed as examples. 600 keeps a
# fit on 5,000 questions under a minute; every development dump replays fewer (cardano, the
# largest, 583), so their fits are the same as with the 1,000 used before.
FIT_QUESTIONS = 600


def training_set(
    index: ExpertiseIndex,
    history: History,
    questions: Sequence[TrainingQuestion],
    warmup_share: float = WARMUP_SHARE,
    limit: int = FIT_QUESTIONS,
    progress: Progress = silent,
) -> TrainingSet:
    """Rows for the earlier questions (time order), each computed as of that question: all
    but the first ``warmup_share`` of them, and the latest ``limit`` at most. ``progress``
    hears of each question (stage ``"features"``)."""
    blocks: list[NDArray[np.float64]] = []
    labels: list[NDArray[np.int8]] = []
    groups: list[NDArray[np.int64]] = []
    ordered = sorted(
        (q for q in questions if q.query.at is not None), key=lambda q: q.query.at or 0.0
    )
    first = max(int(len(ordered) * warmup_share), len(ordered) - limit)
    ordered = ordered[first:]
    used = 0
    progress("features", 0, len(ordered))
    searched: list[tuple[NDArray[np.int64], NDArray[np.float32]] | None] = []
    for position, question in enumerate(ordered, 1):
        progress("features", position, len(ordered))
        if not searched:
            searched = _dense_batch(index, ordered[position - 1 : position - 1 + SEARCH_BATCH])
        dense_hits = searched.pop(0)
        at = question.query.at
        if at is None:
            continue
        found = candidate_features(index, history, question.query, before=at, dense_hits=dense_hits)
        if not found.people:
            continue
        blocks.append(found.features)
        labels.append(np.array([p in question.answerers for p in found.people], dtype=np.int8))
        groups.append(np.full(len(found.people), used, dtype=np.int64))
        used += 1
    if not blocks:
        empty = np.zeros((0, len(FEATURES)))
        return TrainingSet(empty, np.zeros(0, np.int8), np.zeros(0, np.int64), 0)
    return TrainingSet(np.vstack(blocks), np.concatenate(labels), np.concatenate(groups), used)


# Replayed questions are searched this many at once (FAISS spreads them over its threads).
# Below FAISS's threshold for computing a batch's scores as one matrix product (20 queries),
# each query's scores are the single-query search's to the bit, so replaying in batches finds
# exactly what routing each question alone would.
SEARCH_BATCH = 16


def _dense_batch(
    index: ExpertiseIndex, questions: Sequence[TrainingQuestion]
) -> list[tuple[NDArray[np.int64], NDArray[np.float32]] | None]:
    """The dense search of each question with a vector, as ``DenseIndex.search`` answers one
    (None for a question without one: ``gather`` encodes it)."""
    vectors = [q.query.vector for q in questions]
    present = [v for v in vectors if v is not None]
    if not present or not len(index) or not questions:
        return [None] * len(questions)
    ids, scores = index.dense.search_batch(np.stack(present), index.weights.dense_candidates)
    found = iter(zip(ids, scores, strict=True))
    out: list[tuple[NDArray[np.int64], NDArray[np.float32]] | None] = []
    for vector in vectors:
        if vector is None:
            out.append(None)
            continue
        row_ids, row_scores = next(found)
        keep = row_ids >= 0
        out.append((row_ids[keep], row_scores[keep]))
    return out


# The features the default model uses. Chosen, with the other settings in ``FitSettings``, by
# leave-one-site-out over the four development dumps (tune on three, report on the fourth; see
# the README): the topical counts and maxima (dense_max, dense_count, lexical_max, ...) add
# noise that does not transfer between sites. The answer-language, skill and nudge-outcome
# features are constant on Stack Exchange history, so they are kept for organisations whose
# history has them: there they are learned; where they are constant they weigh nothing.
# ever_rank (the place in the popularity order) was added with all four dumps in view, because
# asking the most active people is the best baseline on three of them; it is not in the
# leave-one-site-out grid. Routing computes only the features the model weighs.
DEFAULT_FEATURES = (
    "hand_score",
    "days_idle",
    "answers",
    "recent_30d",
    "recent_180d",
    "tag_recent",
    "tag_answers",
    "ever_rank",
    "asker_tie",
    "lexical_top3",
    "dense_top3",
    "dense_gap",
    "skill_match",
    "language_match",
    "asked",
    "answer_rate",
    "decline_rate",
    "ignore_rate",
)


@dataclass(frozen=True)
class FitSettings:
    """The settings left after fitting; chosen by leave-one-site-out, never per site."""

    # The inverse L2 strengths (scikit-learn's C) tried: each is fitted, and the one whose
    # weights rank the held-back later questions best (MRR; ties to the stronger penalty) is
    # kept, if it beats the hand-set weights there. How much a history supports is a property
    # of that history (coffee's small one is ranked best with C=1, the other dumps with 0.01),
    # so it is chosen on the organisation's own held-back questions, as the fitted-or-hand-set
    # choice is. One number fixes it.
    regularisation: float | tuple[float, ...] = (0.01, 0.1, 1.0)
    # Share of the latest training questions held back to choose between the fitted and the
    # hand-set weights (and among the regularisations) and to fit the calibration.
    calibration_share: float = 0.2
    # "pairwise": learn from (answerer, non-answerer) pairs of the same question, which ranks
    # within a question; "pointwise": every candidate row on its own.
    objective: str = "pairwise"
    pairs_per_positive: int = 20
    # The features the model may use (None: all); the others get weight 0.
    use: tuple[str, ...] | None = DEFAULT_FEATURES
    # The hand-set score enters the fit this many times larger, so the L2 penalty on its weight
    # is this squared times smaller: the fit starts from the hand-set ranking and learns
    # corrections, instead of shrinking the one feature that already ranks well.
    anchor: float = 3.0


def fit_ranker(data: TrainingSet, settings: FitSettings = FitSettings()) -> FittedRanker:
    """Fit the logistic model on the earlier questions and calibrate it on the later ones.

    Raises ValueError when there is nothing to learn from (no positive or no negative row).
    """
    from sklearn.linear_model import LogisticRegression

    if data.questions < 2 or data.labels.sum() == 0 or data.labels.sum() == len(data.labels):
        raise ValueError("too little history to fit a ranker (no answered earlier questions)")
    split = int(data.questions * (1 - settings.calibration_share))
    split = min(max(split, 1), data.questions - 1)
    fit_rows = data.groups < split
    held_rows = ~fit_rows
    x = data.features
    mean = x[fit_rows].mean(axis=0)
    scale = x[fit_rows].std(axis=0)
    scale[scale < 1e-9] = 1.0
    if settings.use is not None:
        unknown = set(settings.use) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features: {sorted(unknown)}")
        # A feature left out is centred at 0 with scale 1 and weight 0: it cannot count.
        unused = np.array([f not in settings.use for f in FEATURES])
        mean[unused] = 0.0
        scale[unused] = 1.0
        x = np.where(unused, 0.0, x)
    used = set(FEATURES if settings.use is None else settings.use)
    hand = FEATURES.index("hand_score")
    scale[hand] /= settings.anchor
    z = (x - mean) / scale
    if settings.objective == "pairwise":
        diffs = _pairs(z, data.labels, data.groups, split, settings.pairs_per_positive)
        # Each pair both ways round, so the model has no intercept to learn.
        fit_x = np.vstack([diffs, -diffs])
        fit_y = np.r_[np.ones(len(diffs)), np.zeros(len(diffs))]
    else:
        fit_x, fit_y = z[fit_rows], data.labels[fit_rows]
    held_labels = data.labels[held_rows]
    strengths = (
        (settings.regularisation,)
        if isinstance(settings.regularisation, float | int)
        else tuple(settings.regularisation)
    )
    fitted: FittedRanker | None = None
    fitted_mrr = -1.0
    fitted_c = strengths[0]
    # Weakest penalty last, each fit starting from the previous one's weights (warm start):
    # the three cost little more than one.
    model = LogisticRegression(max_iter=2000, warm_start=True)
    for c in sorted(strengths):
        model.set_params(C=c)
        model.fit(fit_x, fit_y)
        candidate = FittedRanker(
            features=FEATURES,
            mean=tuple(mean.tolist()),
            scale=tuple(scale.tolist()),
            # A feature left out weighs exactly nothing, so routing need not compute it.
            coef=tuple(
                0.0 if f not in used else w
                for f, w in zip(FEATURES, model.coef_[0].tolist(), strict=True)
            ),
            intercept=float(model.intercept_[0]),
            platt_a=1.0,
            platt_b=0.0,
            questions=data.questions,
            positives=int(data.labels.sum()),
            fitted_at=time.time(),
        )
        mrr = _mrr(candidate.logits(x[held_rows]), held_labels, data.groups[held_rows])
        if mrr > fitted_mrr:  # strictly better: ties keep the stronger penalty
            fitted, fitted_mrr, fitted_c = candidate, mrr, c
    assert fitted is not None
    # The hand-set score alone, as a model of the same form: the fallback the fit must beat.
    hand_only = FittedRanker(
        **{
            **fitted.__dict__,
            "mean": tuple(0.0 for _ in FEATURES),
            "scale": tuple(1.0 for _ in FEATURES),
            "coef": tuple(1.0 if i == hand else 0.0 for i in range(len(FEATURES))),
            "intercept": 0.0,
        }
    )
    # Model selection on the held-back later questions, never on anything the caller tests
    # with: the fitted weights rank only where they beat the hand-set ones on this history.
    hand_mrr = _mrr(hand_only.logits(x[held_rows]), held_labels, data.groups[held_rows])
    chosen = fitted if fitted_mrr >= hand_mrr else hand_only
    # Platt scaling on the held-back later questions: what the scores mean *now*.
    platt_a, platt_b = 1.0, 0.0
    if held_labels.sum() > 0 and held_labels.sum() < len(held_labels):
        platt = LogisticRegression(C=1e6, max_iter=1000)
        platt.fit(chosen.logits(x[held_rows]).reshape(-1, 1), held_labels)
        platt_a, platt_b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    calibrated = FittedRanker(**{**chosen.__dict__, "platt_a": platt_a, "platt_b": platt_b})
    metrics = calibration_report(calibrated.probabilities(x[held_rows]), held_labels)
    metrics.update(
        held_mrr_fitted=fitted_mrr,
        held_mrr_hand=hand_mrr,
        uses_fitted_weights=float(chosen is fitted),
        regularisation=float(fitted_c),
    )
    return FittedRanker(**{**calibrated.__dict__, "metrics": metrics})


def _mrr(scores: NDArray[np.float64], labels: NDArray[np.int8], groups: NDArray[np.int64]) -> float:
    """Mean reciprocal rank of the first answerer per question (0 where none is a candidate)."""
    total = 0.0
    questions = np.unique(groups)
    for question in questions:
        rows = groups == question
        order = np.argsort(-scores[rows], kind="stable")
        hits = np.flatnonzero(labels[rows][order] == 1)
        total += 1.0 / (hits[0] + 1) if len(hits) else 0.0
    return total / max(len(questions), 1)


def _pairs(
    z: NDArray[np.float64],
    labels: NDArray[np.int8],
    groups: NDArray[np.int64],
    below: int,
    per_positive: int,
) -> NDArray[np.float64]:
    """Feature differences (answerer minus non-answerer) within each question before ``below``."""
    rng = np.random.default_rng(0)
    diffs: list[NDArray[np.float64]] = []
    bounds = np.flatnonzero(np.diff(groups)) + 1
    for rows in np.split(np.arange(len(groups)), bounds):
        if len(rows) == 0 or groups[rows[0]] >= below:
            continue
        positive = rows[labels[rows] == 1]
        negative = rows[labels[rows] == 0]
        if len(positive) == 0 or len(negative) == 0:
            continue
        for row in positive:
            take = rng.choice(negative, size=min(per_positive, len(negative)), replace=False)
            diffs.append(z[row] - z[take])
    if not diffs:
        raise ValueError("too little history to fit a ranker (no answered earlier questions)")
    return np.vstack(diffs)


def calibration_report(p: NDArray[np.float64], y: NDArray[np.int8]) -> dict[str, float]:
    """Brier score of ``p`` and of the best constant, and the worst decile gap."""
    if len(y) == 0:
        return {}
    base = float(y.mean())
    report = {
        "brier": float(np.mean((p - y) ** 2)),
        "brier_constant": float(np.mean((base - y) ** 2)),
        "rows": float(len(y)),
    }
    order = np.argsort(p)
    gaps = [
        abs(float(p[part].mean()) - float(y[part].mean()))
        for part in np.array_split(order, 10)
        if len(part)
    ]
    report["worst_decile_gap"] = max(gaps)
    return report
