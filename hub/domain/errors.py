"""Domain errors. They carry no protocol codes: each edge translates them from one table.

    DomainError
    ├── NotFound            an object the caller named does not exist
    ├── Conflict            the request contradicts stored state (e.g. second registration)
    ├── InvalidInput        well-formed but semantically wrong input
    ├── Unauthorized        no or unknown credentials
    ├── Forbidden           known credentials, not allowed here
    └── PartnerUnavailable  a partner we depend on did not answer (timeout, refused, 5xx)
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class Unauthorized(DomainError):
    pass


class Forbidden(DomainError):
    pass


class PartnerUnavailable(DomainError):
    pass
