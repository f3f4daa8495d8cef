"""How many people a call asks, and what it can expect back by its deadline.

A question asks the best few, a wave at a time (``waves.start_next_wave``). A volunteers call
asks, at once, enough people to *expect* ``needed`` volunteers by its deadline, and asks more in
later waves while the expectation falls short, until it is filled, its audience is exhausted or
its deadline passes. The model, kept simple so that a person can check it:

- **Yes-rate.** The share of people asked who volunteer (or, for a question, answer) starts at a
  prior (``ASKHUB_VOLUNTEER_RATE_BP``, ``ASKHUB_ANSWER_RATE_BP``) worth ``PRIOR_ASKS`` asks, and
  is learned from the organisation's finished calls of the same kind: (useful replies from people
  asked + prior x PRIOR_ASKS) / (people asked + PRIOR_ASKS).
- **Per person.** Where routing's fitted ranker gave a match a calibrated ``p_answer``, that
  person's rate is the organisation's rate scaled by their ``p_answer`` relative to the call's
  mean (bounded to ``LIFT``): the best-fitting are likelier to say yes; others get the
  organisation's rate.
- **Timing.** Replies arrive at a steady rate with mean delay ``ASKHUB_REPLY_DELAY``: of the people
  who will reply, the share 1 - exp(-t / delay) has replied t seconds after the ask. An ask still
  unanswered after e seconds is conditioned on that. With no deadline, every future reply counts.
- **Relevance floor.** A volunteers call is open to everyone in its audience: the best-fitting
  people (routing's order, floor off) are asked first, then the rest of the audience, those with
  the fewest recent asks first. Nobody is dropped for lack of topical evidence.
- **The rules still hold.** Nobody is asked twice on a call; away, opted-out, over-budget people
  and people with ``MAX_OPEN_ASKS`` unanswered asks are passed over; quiet hours delay email.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from askhub.calls import notify
from askhub.i18n import N_, Translator
from askhub.recent import Recent
from askhub.routing.audience import Member, audience_size, in_audience, members
from askhub.routing.availability import BUDGET_WINDOW, hold_asking
from askhub.settings import Settings
from models import Call, CallKind, CallStatus, Match, MatchState, Person, Reply, ReplyKind

# The prior counts as this many asks: a handful of early calls do not swing the estimate.
PRIOR_ASKS = 200
# Bounds of a person's rate relative to the organisation's, from their p_answer.
LIFT = (0.5, 3.0)
MAX_RATE = 0.95
# No new asks once fewer than this share of the replies could still arrive before the deadline:
# a last-minute flood of asks would mostly reach people after the call closed.
MIN_SHARE = 0.25
# Expectations within this share of the target count as meeting it (a 14-day deadline leaves
# 0.99999 of the replies in time; nobody should be asked for that last millionth).
ROUNDING = 0.001
# Candidates of a wave are looked up in chunks (stays under every driver's parameter limit).
CHUNK = 1000

OUTSTANDING = (MatchState.NUDGED, MatchState.SEEN)


@dataclass(frozen=True)
class Rates:
    """Learned shares of people asked who reply usefully, per call kind."""

    volunteer: float
    answer: float
    volunteer_asked: int = 0
    answer_asked: int = 0

    def of(self, kind: CallKind | str) -> float:
        return self.volunteer if str(kind) == CallKind.VOLUNTEERS else self.answer


def wanted_reply(kind: CallKind | str) -> ReplyKind:
    return ReplyKind.VOLUNTEER if str(kind) == CallKind.VOLUNTEERS else ReplyKind.ANSWER


def _clamp_rate(bp: int) -> float:
    return min(MAX_RATE, max(0.0001, bp / 10_000))


def _group(kind: CallKind | str) -> str:
    # Volunteers calls have their own rate; questions and referrals share the answer rate.
    return "volunteers" if str(kind) == CallKind.VOLUNTEERS else "answers"


async def learned_rates(session: AsyncSession, settings: Settings) -> Rates:
    """The organisation's yes-rates from finished calls, each shrunk towards its prior."""
    finished = (CallStatus.ANSWERED, CallStatus.FILLED, CallStatus.CLOSED, CallStatus.EXPIRED)
    asked: dict[str, int] = {}
    for kind, n in await session.execute(
        select(Call.kind, func.count())
        .join(Match, Match.call_id == Call.id)
        .where(Call.status.in_(finished), Match.nudged_at.is_not(None))
        .group_by(Call.kind)
    ):
        asked[_group(kind)] = asked.get(_group(kind), 0) + int(n)
    useful: dict[str, int] = {}
    asked_match = aliased(Match)
    for kind, reply_kind, n in await session.execute(
        select(Call.kind, Reply.kind, func.count())
        .join(Reply, Reply.call_id == Call.id)
        .join(
            asked_match,
            (asked_match.call_id == Call.id) & (asked_match.person_id == Reply.person_id),
        )
        .where(
            Call.status.in_(finished),
            asked_match.nudged_at.is_not(None),
            Reply.kind.in_([ReplyKind.VOLUNTEER, ReplyKind.ANSWER]),
        )
        .group_by(Call.kind, Reply.kind)
    ):
        if reply_kind == wanted_reply(kind):
            useful[_group(kind)] = useful.get(_group(kind), 0) + int(n)

    def shrunk(group: str, prior: float) -> float:
        n = asked.get(group, 0)
        return min(MAX_RATE, (useful.get(group, 0) + prior * PRIOR_ASKS) / (n + PRIOR_ASKS))

    return Rates(
        volunteer=shrunk("volunteers", _clamp_rate(settings.volunteer_rate_bp)),
        answer=shrunk("answers", _clamp_rate(settings.answer_rate_bp)),
        volunteer_asked=asked.get("volunteers", 0),
        answer_asked=asked.get("answers", 0),
    )


def person_rate(base: float, p_answer: float | None, mean_p: float) -> float:
    """A person's chance to reply usefully: the organisation's, lifted by their fit."""
    if p_answer is None or mean_p <= 0:
        return base
    lift = min(LIFT[1], max(LIFT[0], p_answer / mean_p))
    return min(MAX_RATE, base * lift)


def mean_p_answer(values: Iterable[float | None]) -> float:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else 0.0


def reply_share(elapsed: float, horizon: float | None, delay: float) -> float:
    """Of the people who will reply, the share that replies in the next ``horizon`` seconds,
    given that ``elapsed`` seconds passed since the ask without a reply (unconditioned on the
    rate: see :func:`outstanding_expectation`). ``horizon`` None: any time from now on."""
    delay = max(1.0, delay)
    start = math.exp(-max(0.0, elapsed) / delay)
    end = 0.0 if horizon is None else math.exp(-(max(0.0, elapsed) + max(0.0, horizon)) / delay)
    return start - end


def outstanding_expectation(
    rate: float, elapsed: float, horizon: float | None, delay: float
) -> float:
    """Expected useful replies from one ask that is still unanswered after ``elapsed`` seconds,
    arriving within ``horizon`` seconds from now."""
    in_window = rate * reply_share(elapsed, horizon, delay)
    silent_so_far = 1 - rate * (1 - reply_share(0, elapsed, delay))
    return in_window / silent_so_far if silent_so_far > 0 else 0.0


def horizon_of(call_deadline: datetime | None, now: datetime) -> float | None:
    return None if call_deadline is None else max(0.0, (call_deadline - now).total_seconds())


def expected_from_asked(
    call: Call, rates: Rates, settings: Settings, now: datetime
) -> tuple[int, float]:
    """Useful replies so far, and those still expected by the deadline from people asked."""
    wanted = wanted_reply(call.kind)
    have = sum(1 for r in call.replies if r.kind == wanted)
    base = rates.of(call.kind)
    mean_p = mean_p_answer(m.p_answer for m in call.matches)
    horizon = horizon_of(call.deadline, now)
    expected = 0.0
    for match in call.matches:
        if match.state not in OUTSTANDING or match.nudged_at is None:
            continue
        elapsed = (now - match.nudged_at).total_seconds()
        rate = person_rate(base, match.p_answer, mean_p)
        expected += outstanding_expectation(rate, elapsed, horizon, settings.reply_delay)
    return have, expected


# -- choosing whom to ask -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One person who may be asked now, in the order they would be asked."""

    person_id: int
    rate: float
    match: Match | None = None


@dataclass(frozen=True)
class Pool:
    """Who may be asked now (in order), and how many in the audience were never asked."""

    candidates: list[Candidate]
    unasked: int
    audience: int


async def asks_this_week(session: AsyncSession, now: datetime) -> dict[int, int]:
    """Calls each person was asked in the budget window, for everyone asked recently (one
    grouped query, however large the audience)."""
    rows = await session.execute(
        select(Match.person_id, func.count())
        # Asks made by an introduction count against the introducing manager's budget only.
        .where(Match.nudged_at >= now - BUDGET_WINDOW, Match.introduced.is_(False))
        .group_by(Match.person_id)
    )
    return {pid: int(n) for pid, n in rows}


async def waiting_asks(session: AsyncSession) -> dict[int, int]:
    """Unanswered asks on open calls, for everyone who has any."""
    rows = await session.execute(
        select(Match.person_id, func.count())
        .join(Call, Call.id == Match.call_id)
        .where(Match.state.in_(OUTSTANDING), Call.status == CallStatus.OPEN)
        .group_by(Match.person_id)
    )
    return {pid: int(n) for pid, n in rows}


def _spread(call_id: int, person_id: int) -> int:
    # A stable shuffle per call, so the same people are not always first among equals.
    return (person_id * 2654435761 + call_id * 40503) % 4294967296


async def pool(
    session: AsyncSession,
    settings: Settings,
    *,
    call_id: int,
    asker_id: int,
    audience: Mapping[str, Any] | None,
    ranked: Sequence[tuple[int, float | None, Match | None]],
    asked: set[int],
    base_rate: float,
    now: datetime,
) -> Pool:
    """Everyone who may be asked now, best first: the ranked people (routing's order, forwards
    first), then the rest of the audience, fewest recent asks first."""
    everyone = await members(session, audience, exclude=asker_id)
    by_id: dict[int, Member] = {m.id: m for m in everyone}
    await hold_asking(session)
    week = await asks_this_week(session, now)
    waiting = await waiting_asks(session)

    def may_ask(member: Member | None) -> bool:
        return (
            member is not None
            and member.available(now)
            and week.get(member.id, 0) < member.budget
            and waiting.get(member.id, 0) < settings.max_open_asks
        )

    mean_p = mean_p_answer(p for _, p, _ in ranked)
    out: list[Candidate] = []
    seen: set[int] = set()
    for person_id, p_answer, match in ranked:
        seen.add(person_id)
        member = by_id.get(person_id)
        if person_id in asked:
            continue
        if match is not None and match.forwarded_by_id is not None and member is None:
            member = await _member_of(session, person_id)  # a forward reaches past the audience
        if may_ask(member):
            out.append(Candidate(person_id, person_rate(base_rate, p_answer, mean_p), match))
    rest = [m for m in everyone if m.id not in seen and m.id not in asked]
    rest.sort(key=lambda m: (week.get(m.id, 0), _spread(call_id, m.id)))
    out += [Candidate(m.id, base_rate) for m in rest if may_ask(m)]
    unasked = sum(1 for m in everyone if m.id not in asked)
    return Pool(out, unasked, len(everyone))


async def _member_of(session: AsyncSession, person_id: int) -> Member | None:
    person = await session.get(Person, person_id)
    if person is None:
        return None
    return Member(person.id, person.availability, person.away_until, person.nudge_budget_per_week)


def choose(candidates: Sequence[Candidate], shortfall: float, share: float, cap: int) -> int:
    """How many of ``candidates`` (in order) to ask so that their expected yeses by the deadline
    cover ``shortfall``; at most ``cap``."""
    if shortfall <= 0 or share <= 0:
        return 0
    expected = 0.0
    for n, candidate in enumerate(candidates[:cap], start=1):
        expected += candidate.rate * share
        if expected >= shortfall * (1 - ROUNDING):
            return n
    return min(len(candidates), cap)


# -- the volunteers wave ------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveOutcome:
    asked: int
    # Nobody in the audience is left who was never asked (and the call still falls short).
    exhausted: bool


AUDIENCE_REASON = {
    "post_id": 0,
    "kind": "audience",
    # Stored in English; the nudge and the pages show it in the reader's words.
    "title": N_("Open to everyone in the call's audience"),
    "snippet": N_("The asker needs many colleagues; anyone who can help may volunteer."),
    "matched_terms": [],
    "similarity": 0.0,
}


async def ask_for_volunteers(
    session: AsyncSession, settings: Settings, call: Call, now: datetime
) -> WaveOutcome:
    """Ask as many more people as the call needs to expect ``needed`` volunteers by its
    deadline; none when the people already asked are expected to fill it."""
    call.wave_started_at = now  # checked now: the next look is a wave interval away
    rates = await learned_rates(session, settings)
    have, expected = expected_from_asked(call, rates, settings, now)
    shortfall = (call.needed or 0) - have - expected
    share = reply_share(0, horizon_of(call.deadline, now), settings.reply_delay)
    if shortfall <= 0 or share < MIN_SHARE:
        return WaveOutcome(0, exhausted=False)
    asked = {m.person_id for m in call.matches if m.state != MatchState.PROPOSED}
    asked |= {m.person_id for m in call.matches if m.nudged_at is not None}
    proposed = sorted(
        (m for m in call.matches if m.state == MatchState.PROPOSED),
        key=lambda m: (m.forwarded_by_id is None, m.rank),
    )
    found = await pool(
        session,
        settings,
        call_id=call.id,
        asker_id=call.asker_id,
        audience=call.audience,
        ranked=[(m.person_id, m.p_answer, m) for m in proposed],
        asked=asked,
        base_rate=rates.volunteer,
        now=now,
    )
    n = choose(found.candidates, shortfall, share, max(1, settings.max_asks_per_wave))
    chosen = found.candidates[:n]
    if not chosen:
        return WaveOutcome(0, exhausted=found.unasked == 0)
    call.wave += 1
    rank = max((m.rank for m in call.matches), default=0)
    new_ids = [c.person_id for c in chosen if c.match is None]
    people = await _people(session, new_ids)
    for candidate in chosen:
        match = candidate.match
        if match is None:
            rank += 1
            match = Match(
                call_id=call.id,
                person_id=candidate.person_id,
                rank=rank,
                score=0.0,
                evidence=[dict(AUDIENCE_REASON)],
            )
            match.person = people[candidate.person_id]
            session.add(match)
            call.matches.append(match)
        match.state = MatchState.NUDGED
        match.wave = call.wave
        match.nudged_at = now
        await notify.ask(session, settings, call, match, match.person, call.asker, now)
    await session.flush()
    return WaveOutcome(len(chosen), exhausted=False)


async def _people(session: AsyncSession, ids: Sequence[int]) -> dict[int, Person]:
    out: dict[int, Person] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for person in await session.scalars(select(Person).where(Person.id.in_(chunk))):
            out[person.id] = person
    return out


# Routing ranks at most this many people for a volunteers call; the rest of the audience
# follows them in the order of ``pool``.
RANKED_MAX = 500


def prior_rate(settings: Settings) -> float:
    return _clamp_rate(settings.volunteer_rate_bp)


# -- forecasts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    """What posting a call would do, and what it can expect by its deadline."""

    audience: int  # people in the audience besides the asker
    may_ask_now: int  # of whom may be asked now (available, within budget)
    ask_now: int  # asked at once
    planned: int  # asked in all if replies come as expected
    expected: float  # useful replies (answers or volunteers) expected by the deadline
    at_most: float  # expected if everyone who may be asked now were asked
    rate: float  # the organisation's learned yes-rate for this kind of call
    needed: int | None
    too_late: bool  # the deadline leaves too little time for asks to be answered
    short: bool  # even the whole audience cannot plausibly meet ``needed``

    def warnings(self, t: Translator) -> list[str]:
        """What stands in the way, in the reader's words (the Ask page and the API say the same)."""
        out = []
        if self.short and self.needed:
            out.append(
                t(
                    "This audience is unlikely to give {needed} volunteers: even asking everyone "
                    "who may be asked now ({n}), about {e} are expected. Widen the audience, ask "
                    "for fewer or allow more time.",
                    needed=self.needed,
                    n=self.may_ask_now,
                    e=f"{self.at_most:.0f}",
                )
            )
        if self.too_late:
            out.append(t("The deadline is too close for most colleagues to reply in time."))
        return out


async def forecast(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: str,
    needed: int | None,
    deadline: datetime | None,
    audience: Mapping[str, Any] | None,
    asker_id: int,
    ranked: Sequence[tuple[int, float | None]],
    now: datetime,
) -> Forecast:
    """The forecast of a call not yet posted, from routing's ranking (``ranked``)."""
    rates = await learned_rates(session, settings)
    base = rates.of(kind)
    sized = kind == CallKind.VOLUNTEERS and bool(needed)
    found = await pool(
        session,
        settings,
        call_id=0,
        asker_id=asker_id,
        audience=audience,
        ranked=[(pid, p, None) for pid, p in ranked],
        asked=set(),
        base_rate=base,
        now=now,
    )
    # A question asks only the people routing found (above the floor), a volunteers call anyone.
    ranked_ids = {pid for pid, _ in ranked}
    candidates = [c for c in found.candidates if sized or c.person_id in ranked_ids]
    share = reply_share(0, horizon_of(deadline, now), settings.reply_delay)
    too_late = share < MIN_SHARE
    at_most = sum(c.rate for c in candidates) * share
    if sized:
        ask_now = 0 if too_late else choose(candidates, float(needed or 0), share, len(candidates))
        ask_now = min(ask_now, max(1, settings.max_asks_per_wave))
        planned = min(
            len(candidates), choose(candidates, float(needed or 0), share, len(candidates))
        )
    else:
        ask_now = min(settings.wave_size, len(candidates))
        planned = min(settings.wave_size * settings.max_waves, len(candidates))
    expected = sum(c.rate for c in candidates[:ask_now]) * share
    return Forecast(
        audience=found.audience,
        may_ask_now=len(candidates),
        ask_now=ask_now,
        planned=planned,
        expected=round(expected, 1),
        at_most=round(at_most, 1),
        rate=round(base, 4),
        needed=needed,
        too_late=too_late,
        short=sized and at_most < (needed or 0),
    )


@dataclass(frozen=True)
class Reach:
    """How far a posted call has got: people asked, planned in all, expected by the deadline."""

    asked: int
    planned: int
    expected: float
    audience: int


# A call's page shows its reach on every read. The yes-rates behind it join every finished
# call's asks and the audience is a count over the people: at 100k people together they cost
# more than the rest of the read. Both move slowly, so reading a call may use figures up to
# READ_MAX_AGE seconds old (per process and database); deciding whom to ask (the waves, the
# preview) always computes them afresh.
READ_MAX_AGE = 30.0
_recent_rates: Recent[Rates] = Recent(READ_MAX_AGE)
_recent_audiences: Recent[int] = Recent(READ_MAX_AGE)


async def _audience_on_read(session: AsyncSession, call: Call) -> int:
    audience = call.audience or {}
    key = tuple(str(audience.get(k) or "").lower() for k in ("department", "location", "language"))
    everyone = await _recent_audiences.get(
        session, key, lambda: audience_size(session, call.audience)
    )
    # The asker is never in their own call's audience.
    asker = call.__dict__.get("asker")  # loaded with the call; never a lazy load here
    if asker is None:
        return await audience_size(session, call.audience, exclude=call.asker_id)
    return everyone - (1 if in_audience(asker, audience) else 0)


async def reach_of(session: AsyncSession, settings: Settings, call: Call, now: datetime) -> Reach:
    priors = (settings.volunteer_rate_bp, settings.answer_rate_bp)
    rates = await _recent_rates.get(session, priors, lambda: learned_rates(session, settings))
    have, outstanding = expected_from_asked(call, rates, settings, now)
    asked = sum(1 for m in call.matches if m.nudged_at is not None)
    audience = max(0, await _audience_on_read(session, call))
    open_ = call.status == CallStatus.OPEN
    if call.kind == CallKind.VOLUNTEERS and call.needed:
        shortfall = call.needed - have - outstanding if open_ else 0.0
        share = reply_share(0, horizon_of(call.deadline, now), settings.reply_delay)
        more = 0
        if shortfall > 0 and share >= MIN_SHARE:
            more = math.ceil(shortfall / (rates.volunteer * share))
        planned = min(audience, asked + more)
    else:
        waves = settings.wave_size * settings.max_waves
        planned = max(asked, min(waves, len(call.matches))) if open_ else asked
    return Reach(
        asked=asked,
        planned=planned,
        expected=round(have + (outstanding if open_ else 0.0), 1),
        audience=audience,
    )
