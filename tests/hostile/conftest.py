"""The HTTP service's fixtures, for the hostile tests that attack it."""

from __future__ import annotations

from tests.web.conftest import (  # noqa: F401 - fixtures
    app,
    client,
    make_app,
    store,
    web_env,
)
