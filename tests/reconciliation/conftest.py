from tests.mapping.conftest import queue  # noqa: F401
from tests.sync.conftest import api, arq_redis, clock, ctx, live  # noqa: F401
