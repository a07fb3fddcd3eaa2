from tests.sync.conftest import api, arq_redis, clock, ctx, live  # noqa: F401
