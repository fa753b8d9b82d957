"""Errors the server answers with, one per TF Serving status, mapped to HTTP and gRPC codes; and the
one error of a server that cannot start (`ServeError`)."""

from __future__ import annotations

from enum import Enum

from pipelines.errors import AipError

__all__ = ["Code", "ServeError", "ServingError"]


class Code(Enum):
    """A canonical status: (HTTP status, gRPC status name)."""

    INVALID_ARGUMENT = (400, "INVALID_ARGUMENT")
    UNAUTHENTICATED = (401, "UNAUTHENTICATED")
    PERMISSION_DENIED = (403, "PERMISSION_DENIED")
    NOT_FOUND = (404, "NOT_FOUND")
    CONFLICT = (409, "FAILED_PRECONDITION")
    TOO_LARGE = (413, "RESOURCE_EXHAUSTED")
    UNPROCESSABLE = (422, "FAILED_PRECONDITION")
    RESOURCE_EXHAUSTED = (429, "RESOURCE_EXHAUSTED")
    INTERNAL = (500, "INTERNAL")
    BAD_GATEWAY = (502, "UNAVAILABLE")  # an upstream (the chat generator endpoint) answered badly
    UNAVAILABLE = (503, "UNAVAILABLE")

    @property
    def http(self) -> int:
        return self.value[0]

    @property
    def grpc(self) -> str:
        return self.value[1]


class ServingError(Exception):
    """A request the server answers with an error status and a message for the client."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ServeError(AipError):
    """The server cannot start as asked; the message says why and what to do."""
