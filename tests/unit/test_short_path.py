"""The short path for pushes (`core.fastpath`) answers as the full stack would."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from core.errors import ApiError, install_error_handlers
from core.fastpath import add_fast_route, take_short_path
from core.responses import JSONBody
from core.strict_query import reject_unknown_query_parameters


def _app() -> tuple[FastAPI, list[str]]:
    taken: list[str] = []
    app = FastAPI(dependencies=[])
    install_error_handlers(app)

    async def push(request: Request) -> Response:
        body = await request.json()
        if body == "refuse":
            raise ApiError(422, "invalid_payload", "refused")
        if body == "crash":
            raise RuntimeError("a bug")
        return JSONBody({"received": body})

    @app.post("/push")
    async def declared(request: Request) -> Response:
        taken.append("declared")
        return await push(request)

    async def short(request: Request) -> Response:
        taken.append("short")
        await reject_unknown_query_parameters(request)
        return await push(request)

    add_fast_route(app, "POST", "/push", short)
    take_short_path(app)
    return app, taken


def test_a_registered_push_takes_the_short_path_and_the_rest_the_full_stack() -> None:
    app, taken = _app()
    with TestClient(app) as client:
        assert client.post("/push", json=3).json() == {"received": 3}
        assert taken == ["short"]
        # Another method on the same path, and another path, go through routing as before.
        assert client.get("/push").status_code == 405
        assert client.post("/elsewhere", json=1).status_code == 404
        assert taken == ["short"]


def test_errors_on_the_short_path_read_as_the_application_answers_them() -> None:
    app, _ = _app()
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = client.post("/push", json="refuse")
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_payload"
        crashed = client.post("/push", json="crash")
        assert crashed.status_code == 500
        assert crashed.json()["error"]["code"] == "internal_error"
        unknown = client.post("/push?debug=1", json=1)
        assert unknown.status_code == 400
        assert unknown.json()["error"]["details"]["unknown"] == ["debug"]


def test_a_short_path_for_a_route_never_declared_is_a_mistake_said_at_once() -> None:
    app, _ = _app()

    async def nowhere(request: Request) -> Response:
        return Response()

    add_fast_route(app, "POST", "/undeclared", nowhere)
    with TestClient(app, raise_server_exceptions=True) as client:
        try:
            client.post("/undeclared")
        except RuntimeError as error:
            assert "not declared" in str(error)
        else:
            raise AssertionError("an undeclared short path was served")
