"""Base models of request and response bodies that are camelCase on the wire (the PRD's shapes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelIn(BaseModel):
    """A request body or query: camelCase (snake_case accepted too), unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CamelOut(BaseModel):
    """A response body: camelCase."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
