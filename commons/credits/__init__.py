"""Credits: word-level attribution of the surviving text of each page, and the other contributions.

No Flask here: :class:`CreditStore` is a derived store following git (like the
search index); :mod:`commons.credits.models` holds what its reads return.
"""

from commons.credits.models import (
    KINDS,
    AuthorShare,
    Contribution,
    Contributor,
    PageCredits,
    PageSummary,
    PersonCredits,
    Run,
    with_kind,
)
from commons.credits.store import CreditStore

__all__ = ["KINDS", "AuthorShare", "Contribution", "Contributor", "CreditStore", "PageCredits", "PageSummary",
           "PersonCredits", "Run", "with_kind"]
