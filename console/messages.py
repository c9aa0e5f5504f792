"""Messages the templates translate from values (a state, a kind, a server's refusal), listed
here so that `make messages` extracts them with the templates' own."""

from __future__ import annotations

__all__ = ["DYNAMIC"]


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, do not translate here"
    return message


DYNAMIC = (
    # incident states, and the clocks
    N_("open"),
    N_("acknowledged"),
    N_("resolved"),
    N_("closed"),
    N_("response"),
    N_("resolution"),
    # timeline entries
    N_("opened"),
    N_("reopened"),
    N_("note"),
    N_("reclassified"),
    N_("raised"),
    N_("escalated"),
    N_("breach"),
    N_("breach_withdrawn"),
    N_("alerts_attached"),
    N_("notified"),
    # alert statuses, sources, report channels
    N_("firing"),
    N_("alert"),
    N_("manual"),
    N_("phone"),
    N_("email"),
    N_("portal"),
    N_("chat"),
    N_("other"),
    # impacts and categories
    N_("outage"),
    N_("degraded"),
    N_("none"),
    N_("hardware"),
    N_("software"),
    N_("network"),
    N_("configuration"),
    N_("security"),
    # service states
    N_("up"),
    N_("down"),
    N_("maintenance"),
    # roles and token scopes
    N_("viewer"),
    N_("operator"),
    N_("manager"),
    N_("admin"),
    N_("ingest"),
    N_("unknown user, disabled account or wrong password"),
    # console.i18n.duration's units
    N_("%(days)d d %(hours)d h"),
    N_("%(hours)d h %(minutes)02d min"),
    N_("%(minutes)d min"),
    N_("%(seconds)d s"),
)
