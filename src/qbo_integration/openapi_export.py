"""Render the app's OpenAPI document as YAML (the committed openapi.yaml; a test checks it is current)."""

from __future__ import annotations

import yaml

from qbo_integration.app import create_app
from qbo_integration.config import Settings


def render_openapi() -> str:
    app = create_app(Settings(QBOI_ENV="dev"))  # type: ignore[call-arg]
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True)
