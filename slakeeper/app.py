"""The application factory: `create_app(settings)` wires every part together."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

import access.api
import availability.api
import collector.alertmanager_api
import collector.api
import console.routes
import incident.api
import ledger.api
import oncall.api
import rules.api
from access.audit import Caller
from access.authentication import Authenticator
from access.guard import unguarded_routes
from access.roles import Kind, Principal, Role
from availability.api import AvailabilityDesk
from availability.metrics import Refreshed, SilenceStatesCollector, SlaCollector
from availability.silence_records import state_counts
from availability.silences import SilenceState
from availability.snapshot import LiveFigures, PeriodFigures, live_figures, period_figures
from collector.admission import InflightBytes
from collector.alertmanager_api import AlertmanagerView
from collector.api import Ingestion
from core.counters import read_counters
from core.database import create_database_engine, writing_session
from core.errors import ErrorTable, install_error_handlers
from core.fastpath import take_short_path
from core.memory import MemoryTrimmer
from core.responses import JSONBody
from core.strict_query import reject_unknown_query_parameters
from incident.api import IncidentDesk
from incident.outbox import NOTIFICATIONS_FAILED
from ledger.desk import LedgerDesk
from ledger.store import remember_policy
from oncall.metrics import OncallCollector
from oncall.service import OncallDesk, who_is_on_call
from rules.api import RuleReloading
from rules.loader import RuleFileError
from rules.policy import RuleFile
from rules.reloading import ActiveRules, RulesReloadCollector
from slakeeper import __version__, probes
from slakeeper.docs_access import document_credentials, guard_docs
from slakeeper.job_metrics import JobFailuresCollector, LeaderCollector
from slakeeper.metrics import COUNTERS, HISTOGRAMS, DatabaseCounterCollector, StoredCounters
from slakeeper.pipeline import Pipeline
from slakeeper.principals import access_config
from slakeeper.probes import Probes
from slakeeper.scheduler import JobScheduler
from slakeeper.settings import Settings, load_settings

__all__ = ["create_app", "create_app_from_environment", "utc_now"]

log = logging.getLogger(__name__)


# Who a reload on SIGHUP is recorded as: whoever could signal the process.
SIGHUP = Caller(
    Principal(name="signal:SIGHUP", kind=Kind.LOCAL, role=Role.ADMIN, method="signal"), None
)


HOUR = timedelta(hours=1)


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


# Each domain's exceptions and the statuses they are answered with (core's are built in).
ERROR_TABLES: tuple[ErrorTable, ...] = (
    access.api.ERRORS,
    collector.api.ERRORS,
    incident.api.ERRORS,
    availability.api.ERRORS,
    oncall.api.ERRORS,
    ledger.api.ERRORS,
    rules.api.ERRORS,
)


@dataclass(frozen=True, slots=True)
class _Parts:
    """What one application is built of, shared by its routes, metrics and lifespan."""

    settings: Settings
    clock: Callable[[], datetime]
    rules: ActiveRules
    engine: Engine
    sessions: sessionmaker[Session]
    pipeline: Pipeline
    scheduler: JobScheduler | None
    authenticator: Authenticator


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    reload_on_sighup: bool = False,
    run_scheduler: bool = False,
) -> FastAPI:
    """Build the service for `settings`; `clock` is the time every request is stamped with.

    Raises `RuleFileError` if the rule file is invalid. With `reload_on_sighup`, the
    running server reloads its rules on SIGHUP; with `run_scheduler`, it runs the scheduled
    jobs (escalation, breaches, outbox) while it serves, when it leads the installation's
    processes (`core.leadership`). Only a server process should ask for either.
    """
    active_rules = ActiveRules(settings.rules, default_timezone=settings.timezone, clock=clock)
    engine = create_database_engine(settings.database_url)
    pipeline = Pipeline(
        engine,
        queue_limit=settings.ingest_queue_limit,
        rules=lambda: active_rules.current,
        clock=clock,
    )
    scheduler = (
        JobScheduler.for_settings(engine, settings, rules=lambda: active_rules.current, clock=clock)
        if run_scheduler
        else None
    )
    sessions = sessionmaker(engine, expire_on_commit=False)
    authenticator = Authenticator(access_config(settings), engine, sessions, clock)
    parts = _Parts(
        settings, clock, active_rules, engine, sessions, pipeline, scheduler, authenticator
    )
    active_rules.on_load(_policy_recorder(engine, clock))
    registry, periods = _metrics(parts)
    app = _application(_lifespan(parts, periods, reload_on_sighup=reload_on_sighup))
    app.state.settings = settings
    app.state.engine = engine
    app.state.pipeline = pipeline
    app.state.scheduler = scheduler
    app.state.rules = active_rules
    install_error_handlers(app, ERROR_TABLES)
    _install_routes(app, parts, registry)
    if unguarded := unguarded_routes(app):
        raise RuntimeError(f"routes without an access rule: {', '.join(unguarded)}")
    guard_docs(app)
    document_credentials(app)
    take_short_path(app)
    return app


def _application(lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]]) -> FastAPI:
    """The FastAPI application, before its routes."""
    # Swagger UI from the package's own files: /docs works without the internet. No ReDoc:
    # its bundle loads its logo from Redocly's CDN.
    return FastAPIOffline(
        redoc_url=None,
        title="slakeeper",
        version=__version__,
        summary="Alerts in, incidents and a service-level record out.",
        lifespan=lifespan,
        default_response_class=JSONBody,
        dependencies=[Depends(reject_unknown_query_parameters)],
        # No badge from the public validator: the page makes no request outside slakeeper.
        swagger_ui_parameters={"validatorUrl": None},
        # slakeeper reports through Prometheus, not OpenTelemetry: FastAPI need not look for
        # a tracer, meter or logger provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )


def _policy_recorder(engine: Engine, clock: Callable[[], datetime]) -> Callable[[RuleFile], None]:
    """Store each rule file the server loads: an open month's figures are computed with the
    server's rules, also by `slakeeper report` (which reads them from the database)."""

    def remember(loaded: RuleFile) -> None:
        with writing_session(engine) as session:
            remember_policy(session, loaded, default_timezone=loaded.timezone.key, now=clock())

    return remember


def _metrics(parts: _Parts) -> tuple[CollectorRegistry, Refreshed[PeriodFigures]]:
    """The registry `/metrics` reads, and the periodic figures it keeps refreshed."""
    rules, sessions = parts.rules, parts.sessions

    def stored_counters() -> StoredCounters:
        # A database error reaches the error handlers: 503 when it is an outage.
        with sessions() as session:
            return read_counters(session)

    def current_figures() -> LiveFigures:
        now = parts.clock()
        with sessions() as session:
            figures = live_figures(session, rules=rules.current, now=now)
        # The downtime counters' high-water marks are stored before they are shown, so no
        # restart or replica ever shows less.
        if figures.counters.pending:
            with writing_session(parts.engine) as session:
                figures.counters.save(session)
        return figures

    def figures_over_periods() -> PeriodFigures:
        with sessions() as session:
            return period_figures(session, rules=rules.current, now=parts.clock())

    settings = parts.settings
    periods = Refreshed(figures_over_periods, max_age=settings.availability_refresh_seconds)
    registry = CollectorRegistry()
    registry.register(
        DatabaseCounterCollector(
            stored_counters,
            COUNTERS,
            HISTOGRAMS,
            known=lambda: {
                NOTIFICATIONS_FAILED: [(contact,) for contact in rules.current.contacts]
            },
        )
    )
    registry.register(
        SlaCollector(current_figures, periods.get, cache_seconds=settings.metrics_cache_seconds)
    )
    registry.register(RulesReloadCollector(rules))

    def on_call_now() -> list[tuple[str, str]]:
        with sessions() as session:
            found = who_is_on_call(session, rules=rules.current, at=parts.clock(), horizon=HOUR)
        return [(now.entry.name, now.current.person) for now in found if now.current]

    registry.register(OncallCollector(on_call_now, cache_seconds=settings.metrics_cache_seconds))
    if settings.alertmanager_url is not None:
        registry.register(SilenceStatesCollector(_silence_states(parts)))
    if parts.scheduler is not None:
        registry.register(JobFailuresCollector(parts.scheduler))
        registry.register(LeaderCollector(parts.scheduler.leadership_holds))
    return registry, periods


def _silence_states(parts: _Parts) -> Callable[[], Mapping[SilenceState, int]]:
    """What `slakeeper_maintenance_silences` reads at each scrape."""

    def read() -> Mapping[SilenceState, int]:
        with parts.sessions() as session:
            return state_counts(session, now=parts.clock())

    return read


def _lifespan(
    parts: _Parts, periods: Refreshed[PeriodFigures], *, reload_on_sighup: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the writer (and scheduler) with the server; stop everything, in order, after."""
    pipeline, scheduler = parts.pipeline, parts.scheduler

    reloading = RuleReloading(parts.rules, parts.engine, parts.clock)

    def reload_rules() -> None:
        # The failure is logged and counted by `reload`; the server carries on with the
        # rules it has, as Prometheus does. Both are audit events, by the signal.
        with suppress(RuleFileError):
            reloading.reload(SIGHUP)

    trimmer = MemoryTrimmer()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pipeline.start()
        trimmer.start()
        if scheduler is not None:
            scheduler.start()
        if reload_on_sighup:
            loop = asyncio.get_running_loop()
            # Reading and compiling a large file takes a while: not on the event loop.
            loop.add_signal_handler(signal.SIGHUP, loop.run_in_executor, None, reload_rules)
        try:
            yield
        finally:
            if reload_on_sighup:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if scheduler is not None:
                await run_in_threadpool(scheduler.shutdown)
            await run_in_threadpool(periods.close)
            await run_in_threadpool(pipeline.stop)
            await run_in_threadpool(parts.authenticator.close)
            await run_in_threadpool(trimmer.stop)
            parts.engine.dispose()

    return lifespan


def _install_routes(app: FastAPI, parts: _Parts, registry: CollectorRegistry) -> None:
    settings, clock, sessions = parts.settings, parts.clock, parts.sessions
    access.api.install(app, parts.authenticator)
    collector.api.install(
        app,
        Ingestion(
            sink=parts.pipeline,
            sessions=sessions,
            clock=clock,
            max_body_bytes=settings.max_body_bytes,
            budget=InflightBytes(settings.max_inflight_bytes),
        ),
    )
    collector.alertmanager_api.install(
        app,
        AlertmanagerView(sessions=sessions, clock=clock, version=__version__, started_at=clock()),
    )
    incidents = IncidentDesk(parts.engine, sessions, parts.rules, clock)
    incident.api.install(app, incidents)
    months = LedgerDesk(
        parts.engine,
        sessions,
        parts.rules,
        clock,
        needs_approval=settings.adjustments_need_approval,
    )
    ledger.api.install(app, months)
    measuring = AvailabilityDesk(parts.engine, sessions, parts.rules, clock)
    availability.api.install(app, measuring)
    on_call = OncallDesk(parts.engine, sessions, parts.rules, clock)
    oncall.api.install(app, on_call)
    rules.api.install(app, RuleReloading(parts.rules, parts.engine, clock))
    console.routes.install(
        app,
        console.routes.ConsoleDesk(
            incidents, measuring, on_call, months, settings.timezone, settings.grafana_url
        ),
    )
    probes.install(
        app,
        Probes(engine=parts.engine, registry=registry, pipeline_alive=lambda: parts.pipeline.alive),
    )


def create_app_from_environment() -> FastAPI:
    """The factory uvicorn's workers call: settings come from `SLAKEEPER_*`."""
    settings = load_settings()
    app = create_app(settings, reload_on_sighup=True, run_scheduler=settings.scheduler)
    # Everything built so far lives as long as the process. Out of the collector's sight,
    # a full collection takes milliseconds instead of ~60 ms: measured, it was the p99.
    gc.collect()
    gc.freeze()
    return app
