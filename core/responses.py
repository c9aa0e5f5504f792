"""JSON responses rendered with orjson (timestamps are formatted before they get here)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["JSONBody"]


class JSONBody(JSONResponse):
    """`application/json` rendered by orjson.

    A `JSONResponse`, so that FastAPI documents a route's `response_model` under it; a route
    that returns one is not validated against that model (its dict is rendered as it is).
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
