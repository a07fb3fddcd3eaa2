"""What the sync engine needs from the mapping: a timecard turned into a TimeActivity, and the company's
books' rules applied to it. `sync` defines it here and imports nothing of `mapping`; the composition
hands the engine mapping's implementation (`mapping.sync_mapper.MAPPER`) in the worker's context, as
the job context's `mapper` (sync/context.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.books import BookRules
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.qbo import QboError


class MappingError(Protocol):
    """Why a field could not be mapped, and what the admin does about it."""

    @property
    def message(self) -> str: ...

    @property
    def fix(self) -> str: ...


class Mapped(Protocol):
    """One timecard mapped: the TimeActivity body to send, or the errors that stop it."""

    @property
    def payload(self) -> dict[str, Any] | None: ...

    @property
    def errors(self) -> Sequence[MappingError]: ...


class Mapper(Protocol):
    async def build(self, session: AsyncSession, company: CompanyView,
                    timecards: list[TimecardView]) -> Mapping[uuid.UUID, Mapped]:
        """Each timecard mapped with the company's active profile (by timecard id)."""
        ...

    def refusal(self, rules: BookRules, payload: dict[str, Any] | None) -> tuple[str, str] | None:
        """Before sending: (code, message) when the books refuse this TimeActivity."""
        ...

    def is_closed_refusal(self, error: QboError | None) -> bool:
        """QuickBooks refused a write dated in a closed period."""
        ...

    def explain(self, error: QboError | None, rules: BookRules, payload: dict[str, Any] | None,
                day: str | None) -> tuple[str, str] | None:
        """QuickBooks refused a write for a rule of the books: (code, our message), else None."""
        ...
