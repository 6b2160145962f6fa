"""``fourflow serve``: the API under uvicorn on an initialised platform."""

from __future__ import annotations

import uvicorn

from fourflow.bootstrap import Settings, open_platform
from fourflow.entrypoints.api import logging as api_logging
from fourflow.entrypoints.api.app import create_app


def serve(*, host: str, port: int, settings: Settings | None = None) -> None:
    """Initialise the platform (operator, contracts; the local node started and kept) and
    serve the API until interrupted."""
    settings = settings or Settings.from_env()
    api_logging.configure(settings.log_level)
    with open_platform(settings) as platform:
        platform.initialise()
        if platform.managed_node:
            platform.start_node()
        app = create_app(platform)
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, server_header=False,
            proxy_headers=False,
        )  # fmt: skip
