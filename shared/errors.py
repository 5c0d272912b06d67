"""The error body every service answers with: `{"detail": ...}`, and for a 422 one entry per bad
field, `{"detail": [{"field", "message"}]}` (SPEC "HTTP")."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from shared.geography import resolve_state

MAX_BODY_KIB = 64  # every body but a bulk import's (shared.web.BodyLimit)


class FieldError(BaseModel):
    field: str = Field(description="the dotted path of the bad field, or the request part (body, query) when the "
                                   "whole of it was wrong")
    message: str
    code: str | None = Field(None, description="a stable name for the rule broken (intake's application fields), "
                                               "for clients that show their own words")


class ValidationErrorBody(BaseModel):
    """What a 422 carries: one entry per field that was wrong."""

    detail: list[FieldError]


class ErrorBody(BaseModel):
    """What every other error carries: a sentence saying what was wrong."""

    detail: str


# What each error status means wherever it is given; a route names its own meaning where it says more.
MEANINGS: dict[int, str] = {
    401: "missing or invalid credentials",
    403: "the credentials are valid but do not allow this",
    404: "not found",
    408: "the request body did not arrive in time (HTTP_BODY_TIMEOUT_SECONDS)",
    409: "conflicts with the current state",
    413: f"the request body is over {MAX_BODY_KIB} KiB",
    415: "a content type this route does not read",
    422: "one entry per bad field; nothing was changed",
    429: "too many requests; retry after the Retry-After header's seconds",
    503: "not ready yet; retry shortly",
}


def error_responses(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each error status it can give, with the body it carries (ValidationErrorBody
    for 422, ErrorBody otherwise) and its meaning (MEANINGS', or the route's own as `(status, "meaning")`)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, meaning = item if isinstance(item, tuple) else (item, MEANINGS[item])
        documented[status] = {"model": ValidationErrorBody if status == 422 else ErrorBody, "description": meaning}
    return documented


def invalid(field: str, message: str) -> HTTPException:
    """A 422 for one bad field, in the shape pydantic's own 422s are given (see validation_failed)."""
    return HTTPException(422, [{"field": field, "message": message}])


def field_errors(errors: list[dict]) -> list[dict[str, str]]:
    """pydantic's errors as {"field", "message"} entries; the field is the dotted path below the
    request part (body, query, path), or the part itself when the whole of it was wrong."""
    return [{"field": ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0]),
             "message": error["msg"]} for error in errors]


async def validation_failed(request: Request, error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": field_errors(error.errors())}, 422)


async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    # FastAPI's one 400 is a body it could not read at all (JSON that is not UTF-8): bad input, so the 422 shape.
    if error.status_code == 400:
        return JSONResponse({"detail": [{"field": "body", "message": "not UTF-8 JSON"}]}, 422)
    return await http_exception_handler(request, error)


def state_code(text: str, field: str = "state") -> str:
    """A state or union territory of India, named by its code (any case) or its English or Hindi
    name, as its two-letter code; anything else is a 422 on `field`, wherever it came from
    (query, body or path), so every service answers a bad state the same way."""
    code = resolve_state(text)
    if code is None:
        raise invalid(field, f"not a state or union territory of India: {text!r}")
    return code
