"""What an API operation answers: a response, or an error shaped as Lambda shapes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

_STATUS = {
    "InvalidParameterValueException": 400,
    "InvalidRequestContentException": 400,
    "ResourceNotFoundException": 404,
    "ResourceConflictException": 409,
    "PreconditionFailedException": 412,
    "AccessDeniedException": 403,
    "MissingAuthenticationTokenException": 403,
    "RequestTooLargeException": 413,
    "UnsupportedMediaTypeException": 415,
    "ServiceException": 500,
    "UnknownOperationException": 404,
}


class ApiError(Exception):
    """An error the API returns; botocore raises the modelled exception named by ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = _STATUS.get(code, 400)

    def body(self) -> dict[str, str]:
        # botocore reads "message" or "Message"; the modelled shapes use one or the other.
        return {"Type": "User", "message": self.message, "Message": self.message}


def invalid(message: str) -> ApiError:
    """An InvalidParameterValueException, Lambda's answer to most bad requests."""
    return ApiError("InvalidParameterValueException", message)


@dataclass(frozen=True)
class Response:
    """One HTTP response: status, body, headers and the body's content type."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_response(
    status: int, document: object, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response, as the Lambda API sends every document."""
    return Response(status, json.dumps(document).encode(), headers or {})


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    """The response botocore turns back into ``error``'s modelled exception."""
    return json_response(
        error.status, error.body(), {"x-amzn-ErrorType": error.code, **(headers or {})}
    )
