"""Running uvicorn: one process, or a supervisor of workers that reload rules on SIGHUP."""

from __future__ import annotations

import copy
import logging
import os
import signal
import sys
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors.multiprocess import Multiprocess

from slakeeper.settings import Settings

__all__ = ["run_server"]

log = logging.getLogger("slakeeper")

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FACTORY = "slakeeper.app:create_app_from_environment"


class _RulesReloadingSupervisor(Multiprocess):
    """uvicorn's supervisor, except that SIGHUP asks every worker to reload the rules.

    uvicorn would replace the workers instead; each new worker would then read the rule
    file at start, and a file that is invalid by then would leave no worker standing.
    """

    def handle_hup(self) -> None:
        log.info("SIGHUP: every worker reloads the rule file")
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)


def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; the app is built in each worker from `SLAKEEPER_*`."""
    config = uvicorn.Config(
        _FACTORY,
        factory=True,
        log_config=_log_config(settings.log_level),
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=settings.access_log,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
    )
    if settings.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(3)
        return
    socket = config.bind_socket()
    _RulesReloadingSupervisor(config, sockets=[socket]).run()


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus slakeeper's own loggers in every worker process."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["plain"] = {"format": _LOG_FORMAT}
    config["handlers"]["plain"] = {
        "class": "logging.StreamHandler",
        "formatter": "plain",
        "stream": "ext://sys.stderr",
    }
    config["root"] = {"handlers": ["plain"], "level": level.upper()}
    return config
