import pytest

from tests.console.stack import LiveApi, bind_free_socket
from tests.mapping.conftest import imported, queue  # noqa: F401
from tests.sync.conftest import api, arq_redis, clock, ctx, live  # noqa: F401


@pytest.fixture
def live_api(settings):
    """The API under uvicorn on a free port, so the sandbox can post webhooks to it over HTTP."""
    from qbo_integration.app import create_app

    server = LiveApi(lambda: create_app(settings), bind_free_socket()).start()
    yield server
    server.stop()
