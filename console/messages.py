"""Messages the templates translate from values (a state, a clock, a server's refusal), listed
here so that `make messages` extracts them with the templates' own."""

from __future__ import annotations

__all__ = ["DYNAMIC"]


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, do not translate here"
    return message


DYNAMIC = (
    N_("open"),
    N_("acknowledged"),
    N_("response"),
    N_("resolution"),
    N_("unknown user, disabled account or wrong password"),
    # console.i18n.duration's units
    N_("%(days)d d %(hours)d h"),
    N_("%(hours)d h %(minutes)02d min"),
    N_("%(minutes)d min"),
    N_("%(seconds)d s"),
)
