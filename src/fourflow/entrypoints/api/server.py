"""``fourflow serve``: the API under uvicorn on an initialised platform, in one process or
several (``--workers``) sharing one store."""

from __future__ import annotations

import atexit

import uvicorn
from fastapi import FastAPI

from fourflow.bootstrap import Settings, open_platform
from fourflow.entrypoints.api import logging as api_logging
from fourflow.entrypoints.api.app import create_app


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory): its own platform on the settings
    of the environment, open for the life of the process."""
    settings = Settings.from_env()
    api_logging.configure(settings.log_level)
    platform = open_platform(settings)
    atexit.register(platform.close)
    return create_app(platform)


def serve(*, host: str, port: int, workers: int = 1, settings: Settings | None = None) -> None:
    """Initialise the platform (operator, contracts; the local node started and kept) and
    serve the API until interrupted; with ``workers`` > 1, that many processes."""
    settings = settings or Settings.from_env()
    api_logging.configure(settings.log_level)
    with open_platform(settings) as platform:
        platform.initialise()
        if platform.managed_node:
            platform.start_node()
        if workers > 1:
            platform.close()
        else:
            uvicorn.run(
                create_app(platform), host=host, port=port, log_config=None, access_log=False,
                server_header=False, proxy_headers=False,
            )  # fmt: skip
            return
    uvicorn.run(
        "fourflow.entrypoints.api.server:worker_app", factory=True, workers=workers, host=host,
        port=port, log_config=None, access_log=False, server_header=False, proxy_headers=False,
    )  # fmt: skip
