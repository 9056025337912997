"""The admin's policy for mail that threads to no case (the `intake_holds` table): the intake
rules that fired, each with the policy the admin chose for it (or the code's default), and
the strictest wins, as in intake/mailrules.py's engine."""

from __future__ import annotations

from collections.abc import Mapping

from cases.domain.intake_message import IntakeMessage, NewCase

STRICTNESS = {NewCase.ALLOWED: 0, NewCase.KNOWN_SENDER: 1, NewCase.THREAD_ONLY: 2}


def policy_of(msg: IntakeMessage, policies: Mapping[str, str]) -> tuple[NewCase, str]:
    """(policy, the rule that set it) for msg. A message that names no rule of the table (built
    before the table, or by an adapter of its own) keeps the policy the intake gave it."""
    hits = msg.new_case_hits or ((msg.new_case_rule,) if msg.new_case_rule else ())
    known = [h for h in hits if h in policies]
    if not known:
        return msg.new_case, msg.new_case_rule
    policy, rule = NewCase.ALLOWED, ""
    for hit in known:
        chosen = NewCase(policies[hit])
        if STRICTNESS[chosen] > STRICTNESS[policy]:
            policy, rule = chosen, hit
    return policy, rule
