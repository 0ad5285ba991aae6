"""The CDR lifecycle in clearing, as a table (STYLE habit 6: state machines are tables).

    received --validate--> validated --rate--> rated --accept--> accepted --close--> invoiced
                                                     \\-dispute-> disputed -resolve-> accepted
                                                                                  \\-> credited
    invoiced --bank/netting--> settled
    accepted | invoiced | settled --credit CDR--> credited   (a credit note when it was invoiced)

A CDR failing a plausibility check stays ``received`` with its failed checks stored and an item
in the exceptions list; the next run checks it again (e.g. once the missing FX rate or tariff
is there), so nothing is lost. ``credited`` is final: the correction (a replacement CDR) is a
new CDR that goes through the lifecycle in the open period.
"""

from __future__ import annotations

from typing import Final, Literal

from hub.domain import Conflict

State = Literal["received", "validated", "rated", "accepted", "disputed", "invoiced",
                "settled", "credited"]

RECEIVED: Final = "received"
VALIDATED: Final = "validated"
RATED: Final = "rated"
ACCEPTED: Final = "accepted"
DISPUTED: Final = "disputed"
INVOICED: Final = "invoiced"
SETTLED: Final = "settled"
CREDITED: Final = "credited"

# from-state -> the states it may move to.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    RECEIVED: frozenset({VALIDATED}),
    VALIDATED: frozenset({RATED}),
    RATED: frozenset({ACCEPTED, DISPUTED}),
    ACCEPTED: frozenset({INVOICED, DISPUTED, CREDITED}),
    DISPUTED: frozenset({ACCEPTED, CREDITED}),
    INVOICED: frozenset({SETTLED, CREDITED}),
    SETTLED: frozenset({CREDITED}),
    CREDITED: frozenset(),
}
# A run takes a CDR through several states at once; its history stores that as ONE row, from
# the first to the last state, with the run's time and reason. Readers show every step of it
# (``expand``). None of these pairs is a single transition of the table, so a stored row is
# unambiguous.
RUN_PATHS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    (RECEIVED, ACCEPTED): (VALIDATED, RATED, ACCEPTED),
    (RECEIVED, DISPUTED): (VALIDATED, RATED, DISPUTED),
    (RECEIVED, CREDITED): (VALIDATED, RATED, ACCEPTED, CREDITED),
}
# States whose CDR is booked in the ledger (its entry exists and is not reversed).
BOOKED: Final = frozenset({ACCEPTED, INVOICED, SETTLED})


def check_transition(current: str, target: str) -> None:
    """Raise ``Conflict`` unless the table allows ``current -> target``."""
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or "none (final)"
        raise Conflict(f"a CDR in state {current} cannot become {target} (allowed: {allowed})")


def path(current: str, *targets: str) -> list[tuple[str, str]]:
    """The steps ``current -> t1 -> t2 ...``, each checked against the table."""
    steps = []
    for target in targets:
        check_transition(current, target)
        steps.append((current, target))
        current = target
    return steps


def compressed(steps: list[tuple[str, str]] | tuple[tuple[str, str], ...]
               ) -> list[tuple[str, str]]:
    """``steps`` as stored in the history: a run path of ``RUN_PATHS`` as one (first, last)
    row, anything else step by step."""
    if len(steps) > 1:
        first, last = steps[0][0], steps[-1][1]
        if RUN_PATHS.get((first, last)) == tuple(b for _, b in steps):
            return [(first, last)]
    return list(steps)


def expand(from_state: str | None, to_state: str) -> list[tuple[str | None, str]]:
    """A stored history row as the transitions it stands for (see ``RUN_PATHS``)."""
    targets = RUN_PATHS.get((from_state or "", to_state))
    if targets is None:
        return [(from_state, to_state)]
    steps: list[tuple[str | None, str]] = []
    current = from_state
    for target in targets:
        steps.append((current, target))
        current = target
    return steps
