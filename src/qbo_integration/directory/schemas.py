"""Request and response shapes of the directory import's routes (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from qbo_integration.api.camel import CamelIn, CamelOut


class DirectoryImportIn(CamelIn):
    company_id: uuid.UUID
    mode: Literal["auto", "full"] = "auto"


class ImportJobOut(CamelOut):
    job_id: uuid.UUID
    status: str
    trigger: str
    mode: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    qbo_calls: int = 0
    results: dict[str, Any] = Field(default_factory=dict)
    errors: list[Any] = Field(default_factory=list)
    message: str | None = None
