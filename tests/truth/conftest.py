"""The alert and web fixtures, for the tests of truth rules that cross both stages."""

from tests.alerts.conftest import alert_env, aws, catalogue  # noqa: F401
from tests.web.conftest import (  # noqa: F401
    _empty_web_tables,
    app,
    client,
    make_app,
    store,
    user_client,
    user_id,
    web_env,
)
