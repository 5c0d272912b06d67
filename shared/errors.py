"""The error body every service answers with: `{"detail": ...}`, and for a 422 one entry per bad
field, `{"detail": [{"field", "message"}]}` (SPEC "HTTP")."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import Request

from shared.geography import resolve_state


class FieldError(BaseModel):
    field: str
    message: str


class ValidationErrorBody(BaseModel):
    """What a 422 carries: one entry per field that was wrong."""

    detail: list[FieldError]


class ErrorBody(BaseModel):
    """What every other error carries: a sentence saying what was wrong."""

    detail: str


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


def state_code(text: str, field: str = "state") -> str:
    """A state or union territory of India, named by its code (any case) or its English or Hindi
    name, as its two-letter code; anything else is a 422 on `field`, wherever it came from
    (query, body or path), so every service answers a bad state the same way."""
    code = resolve_state(text)
    if code is None:
        raise invalid(field, f"not a state or union territory of India: {text!r}")
    return code
