"""Who may see the council view."""
from __future__ import annotations

from typing import Any

from portal.accounts.permissions import is_observer, is_officer

__all__ = ["can_view_council_dashboard"]


def can_view_council_dashboard(user: Any) -> bool:
    """Council members (observer role), and officers who prepare the council's meetings."""
    return is_observer(user) or is_officer(user)
