"""Imports every model module so `Base.metadata` knows all tables (Alembic, tests)."""

from qbo_integration.connections import models as connections_models  # noqa: F401
from qbo_integration.core_platform import models as core_models  # noqa: F401
from qbo_integration.db.base import Base
from qbo_integration.directory import models as directory_models  # noqa: F401
from qbo_integration.exports import models as exports_models  # noqa: F401
from qbo_integration.mapping import models as mapping_models  # noqa: F401
from qbo_integration.monitoring import models as monitoring_models  # noqa: F401
from qbo_integration.realms import models as realms_models  # noqa: F401
from qbo_integration.reconciliation import models as reconciliation_models  # noqa: F401
from qbo_integration.sync import models as sync_models  # noqa: F401
from qbo_integration.sync.story import models as story_models  # noqa: F401
from qbo_integration.webhooks import models as webhooks_models  # noqa: F401

metadata = Base.metadata
