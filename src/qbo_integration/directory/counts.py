"""What an import did, counted: per entity in our copy, Core's users and projects, the proposals, the
records newly orphaned and every link made (the caller audits each)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportCounts:
    directory: Counter[str] = field(default_factory=Counter)  # "<Entity>.created|updated|unchanged"
    users_created: int = 0
    users_updated: int = 0
    users_matched_by_email: int = 0
    users_matched_by_name: int = 0
    users_proposed: int = 0
    projects_created: int = 0
    projects_updated: int = 0
    projects_matched_by_name: int = 0
    projects_proposed: int = 0
    newly_orphaned: list[dict[str, str]] = field(default_factory=list)
    # every QBO record linked to an existing CrewFlow record by this import (the caller audits each)
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.users_created or self.users_updated or self.projects_created or self.projects_updated
                    or any(v for k, v in self.directory.items() if not k.endswith("unchanged")))

    def as_dict(self) -> dict[str, Any]:
        per_entity: dict[str, dict[str, int]] = {}
        for key, n in self.directory.items():
            entity, what = key.split(".")
            per_entity.setdefault(entity, {})[what] = n
        return {"directory": per_entity,
                "users": {"created": self.users_created, "updated": self.users_updated,
                          "matchedByEmail": self.users_matched_by_email, "matchedByName": self.users_matched_by_name,
                          "proposed": self.users_proposed},
                "projects": {"created": self.projects_created, "updated": self.projects_updated,
                             "matchedByName": self.projects_matched_by_name, "proposed": self.projects_proposed},
                "newlyOrphaned": self.newly_orphaned, "changed": self.changed}
