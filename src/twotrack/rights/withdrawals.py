"""A withdrawal or revocation must have something to end: one dated before the grant it would revoke is refused.

Events take effect from their own dates (replay orders by date). A withdraw/revoke dated before the only
grant of its scopes would be applied first and then overridden by that grant: the ledger would print
``dpv:ConsentWithdrawn`` and change nothing. That is almost always a typo in a date, so the ledger refuses
it, naming the speaker and both dates, instead of recording a no-op (see docs/rights.md, "Withdrawals").
A withdrawal that finds nothing given and no later grant (a speaker never granted, or already withdrawn)
is kept: it is harmless and may be the only record of the speaker's wish.
"""

from __future__ import annotations

from typing import Sequence

from .consent import ACTION_STATUS, ALL, GIVEN, SCOPES, ConsentEvent, EventDraft, replay


def _as_event(draft: EventDraft, seq: int) -> ConsentEvent:
    return ConsentEvent(
        seq=seq, speaker=draft.speaker, action=draft.action, status=ACTION_STATUS[draft.action],
        scopes=draft.scopes, date=draft.date, evidence=draft.evidence, evidence_sha256=draft.evidence_sha256,
        jurisdiction=draft.jurisdiction, expiry=draft.expiry, note=draft.note, recorded_at="", prev_hash="",
    )


def predating_withdrawals(existing: Sequence[ConsentEvent], drafts: Sequence[EventDraft]) -> list[tuple[int, str]]:
    """(index into ``drafts``, reason) for each withdraw/revoke that ends nothing at its date while a grant
    of one of its scopes is dated after it. ``drafts`` are judged together with ``existing`` (a batch may
    hold the grant and the withdrawal in any order)."""
    events = list(existing) + [_as_event(d, len(existing) + i + 1) for i, d in enumerate(drafts)]
    problems: list[tuple[int, str]] = []
    for i, draft in enumerate(drafts):
        if draft.action not in ("withdraw", "revoke"):
            continue
        me = events[len(existing) + i]
        named = set(SCOPES if ALL in me.scopes else me.scopes)
        before = [e for e in events if e.speaker == me.speaker and (e.when, e.seq) < (me.when, me.seq)]
        state = replay(before, me.speaker, me.when)
        if any(state.state(s).status == GIVEN for s in named):
            continue  # it ends a consent in force at its date
        later = sorted(
            (e for e in events if e.speaker == me.speaker and e.action in ("grant", "amend")
             and e.when > me.when and named & set(e.scopes)),
            key=lambda e: (e.when, e.seq),
        )
        if not later:
            continue
        grant = later[0]
        where = f"event #{grant.seq}" if grant.seq <= len(existing) else "in the same import"
        problems.append((i, (
            f"{draft.action} for {draft.speaker!r} dated {draft.date} predates the {grant.action} dated {grant.date} "
            f"({where}) it would revoke: nothing of {';'.join(draft.scopes)} is given on {draft.date}, so it would "
            f"change nothing; a {draft.action} takes effect from its own date, so date it on or after {grant.date}"
        )))
    return problems
