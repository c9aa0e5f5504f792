"""The rule files figures were computed with, read back from `rule_policies`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ledger import store
from ledger.watching import RulesOf
from rules.loader import parse_rule_text
from rules.policy import RuleFile

__all__ = ["UnknownPolicy", "rules_of", "stored_rules"]


class UnknownPolicy(LookupError):
    """No rule file with this digest was ever stored."""


def stored_rules(session: Session, digest: str) -> RuleFile:
    """The rule file of `digest`, compiled from its stored text."""
    stored = store.policy_text(session, digest)
    if stored is None:
        raise UnknownPolicy(f"no rule file with SHA-256 {digest} is stored")
    return parse_rule_text(
        stored.text, source=stored.source, default_timezone=stored.default_timezone
    )


def rules_of(session: Session, current: RuleFile) -> RulesOf:
    """The rule file of a digest: `current` if it is that one, else the stored one (kept
    compiled for the caller's lifetime)."""
    compiled: dict[str, RuleFile] = {current.digest: current}

    def find(digest: str) -> RuleFile:
        if digest not in compiled:
            compiled[digest] = stored_rules(session, digest)
        return compiled[digest]

    return find
