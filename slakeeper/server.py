"""Running uvicorn: one process, or a supervisor of workers that reload rules on SIGHUP.

The scheduled jobs run once per server: in the single process, or in the supervisor when
there are several workers (a worker can be replaced at any time, the supervisor stays).
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import sys
from contextlib import ExitStack, suppress
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors.multiprocess import Multiprocess

from core.memory import cap_malloc_arenas
from rules.loader import RuleFileError
from rules.reloading import ActiveRules
from slakeeper.scheduler import running_jobs
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

    scheduler_rules: ActiveRules | None = None

    def handle_hup(self) -> None:
        log.info("SIGHUP: every worker reloads the rule file")
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)
        if self.scheduler_rules is not None:
            # A rejected file is logged and counted by `reload`; the old rules stay.
            with suppress(RuleFileError):
                self.scheduler_rules.reload()


def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM; the app is built in each worker from `SLAKEEPER_*`."""
    # Before uvicorn starts any thread, and inherited by the workers it spawns.
    cap_malloc_arenas()
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
        # The peer's address as it is: `access` decides whom to believe about the caller's
        # address and user (SLAKEEPER_TRUSTED_PROXIES), not uvicorn's own list.
        proxy_headers=False,
    )
    if settings.workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            sys.exit(3)
        return
    socket = config.bind_socket()
    # Set before the workers are spawned, so that they, and their replacements, inherit it.
    os.environ["SLAKEEPER_SCHEDULER"] = "false"
    with ExitStack() as stack:
        supervisor = _RulesReloadingSupervisor(config, sockets=[socket])
        if settings.scheduler:
            supervisor.scheduler_rules = stack.enter_context(running_jobs(settings))
        supervisor.run()


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
