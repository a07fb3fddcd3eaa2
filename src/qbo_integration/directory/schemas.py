"""Request and response shapes of the directory routes: the import, its proposals, merges (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

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


# ----------------------------------------------------------------------------- proposals and merges
Entity = Literal["Employee", "Customer"]


class CandidateOut(CamelOut):
    crewflow_id: uuid.UUID
    name: str
    email: str | None = None
    confidence: float = Field(description="The matching rule's confidence, 0 to 1")
    reason: str = Field(description="email | name | variant | fuzzy | ambiguous | shared | email differs")


class ProposalOut(CamelOut):
    proposal_id: uuid.UUID
    entity_type: Entity = Field(description="Employee (a CrewFlow worker) or Customer (a CrewFlow project)")
    qbo_id: str
    qbo_name: str
    qbo_email: str | None = None
    status: Literal["open", "linked", "created", "skipped", "merged"]
    question: str = Field(description="The question, in words, for the admin")
    candidates: list[CandidateOut] = Field(description="The CrewFlow records it resembles, best first")
    crewflow_id: uuid.UUID | None = Field(None, description="The CrewFlow record it was linked to or created as")
    replaced_id: uuid.UUID | None = Field(None, description="merged: the record retired in the merge")
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_at: datetime


class MergeOfferOut(CamelOut):
    entity_type: Entity
    qbo_id: str
    qbo_name: str
    from_id: uuid.UUID = Field(description="The record linked now, with no timecards (made by the import)")
    from_name: str
    into_id: uuid.UUID = Field(description="The unlinked record the matching rule says it is")
    into_name: str
    confidence: float
    reason: str
    question: str


class ProposalsOut(CamelOut):
    proposals: list[ProposalOut]
    merges: list[MergeOfferOut] = Field(description="Records the import most likely created twice: merge them back")


class DecisionIn(CamelIn):
    company_id: uuid.UUID
    decision: Literal["link", "create", "skip"]
    crewflow_id: uuid.UUID | None = Field(None, description="link: the CrewFlow worker or project (required)")

    @model_validator(mode="after")
    def _target_for_link_only(self) -> DecisionIn:
        if self.decision == "link" and self.crewflow_id is None:
            raise ValueError("crewflowId is required to link: the CrewFlow worker or project to link to")
        if self.decision != "link" and self.crewflow_id is not None:
            raise ValueError(f"crewflowId is only for link, not for {self.decision}")
        return self


class DecisionOut(CamelOut):
    proposal: ProposalOut
    changed: bool = Field(description="false: the same decision had already been made (a repeated request)")
    message: str


class MergeIn(CamelIn):
    company_id: uuid.UUID
    entity_type: Entity
    from_id: uuid.UUID = Field(description="The record to retire (made by the import, no timecards)")
    into_id: uuid.UUID = Field(description="The record the QuickBooks link moves to")


class MergeOut(CamelOut):
    entity_type: Entity
    qbo_id: str
    from_id: uuid.UUID
    into_id: uuid.UUID
    changed: bool = Field(description="false: this merge had already been done (a repeated request)")
    message: str
