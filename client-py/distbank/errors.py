"""Exceptions raised by the distbank client: one class per fault code of the service.

The fault-code registry is common/fault-codes.ts in the distbank repository; this module must
name exactly the same codes (test/fault-registry.test.ts and tests/test_errors.py check it).
Every class is called ``<CamelCaseOfCode>Error`` and ``ERRORS_BY_CODE`` maps code -> class.

This module imports nothing but the standard library, so tools can read the registry without
zeep installed.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Type

__all__ = [
    "BankError",
    "AuthenticationFailedError",
    "NotAuthorizedError",
    "AccountNotFoundError",
    "InsufficientFundsError",
    "InvalidAmountError",
    "SameAccountError",
    "InvalidRequestError",
    "AccountLockedError",
    "LockNotHeldError",
    "LockExpiredError",
    "StaleFencingTokenError",
    "RequestIdConflictError",
    "RateLimitedError",
    "LimitExceededError",
    "ServiceUnavailableError",
    "InternalErrorError",
    "InternalError",
    "BankConnectionError",
    "BankProtocolError",
    "ConfigurationError",
    "ERRORS_BY_CODE",
    "error_for_code",
    "class_name_for_code",
]


def names_account(message: str, account_id: str) -> bool:
    """Does the message name the account already ("account 2 is not yours")? The id must stand
    as a whole word, so that the CLI names it once (the TypeScript CLI's namesAccount)."""
    return re.search(rf"(^|[^0-9A-Za-z]){re.escape(account_id)}($|[^0-9A-Za-z])", message) is not None


class BankError(Exception):
    """Base of every error the client raises for a failed call.

    ``code`` is the service's fault code (None for failures that never reached a service
    answer, see BankConnectionError and BankProtocolError), ``message`` the service's text,
    ``account_id`` the account the fault is about (if the service named one), ``retryable``
    whether sending the same request again later (same request id) may succeed, and
    ``request_id`` the idempotency key the client sent: the server logs carry it.
    """

    code: Optional[str] = None
    retryable: bool = False

    def __init__(
        self,
        code: Optional[str],
        message: str,
        account_id: Optional[str] = None,
        retryable: bool = False,
        *,
        request_id: Optional[str] = None,
        retry_after_ms: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.account_id = account_id
        self.retryable = retryable
        self.request_id = request_id
        #: How long the service asks to wait before sending again (RATE_LIMITED), else None.
        self.retry_after_ms = retry_after_ms

    def __str__(self) -> str:
        text = self.message if self.code is None else f"{self.code}: {self.message}"
        if self.account_id is not None and not names_account(self.message, self.account_id):
            text += f" (account {self.account_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"account_id={self.account_id!r}, retryable={self.retryable!r}, "
            f"request_id={self.request_id!r}, retry_after_ms={self.retry_after_ms!r})"
        )

    def to_dict(self) -> Dict[str, object]:
        """The JSON shape the CLI prints for an error (camelCase like the wire)."""
        out: Dict[str, object] = {"code": self.code, "message": self.message}
        if self.account_id is not None:
            out["accountId"] = self.account_id
        out["retryable"] = self.retryable
        if self.retry_after_ms is not None:
            out["retryAfterMs"] = self.retry_after_ms
        if self.request_id is not None:
            out["requestId"] = self.request_id
        return out


# ----- one class per fault code (same order as common/fault-codes.ts) -----


class AuthenticationFailedError(BankError):
    """Missing, unknown or wrong credentials (auth-token with client-id)."""

    code = "AUTHENTICATION_FAILED"


class NotAuthorizedError(BankError):
    """Authenticated, but this client may not act on this account (it is not its own)."""

    code = "NOT_AUTHORIZED"


class AccountNotFoundError(BankError):
    """No account has this id."""

    code = "ACCOUNT_NOT_FOUND"


class InsufficientFundsError(BankError):
    """The debit would make a balance negative; nothing changed."""

    code = "INSUFFICIENT_FUNDS"


class InvalidAmountError(BankError):
    """The amount is not a decimal > 0 with at most 2 fraction digits, or exceeds the maximum.

    Raised by the service, or locally (before any network call) when the text is not a plain
    decimal number at all (``"1e3"``, ``"NaN"``, ``""``).
    """

    code = "INVALID_AMOUNT"


class SameAccountError(BankError):
    """A transfer names the same account as source and destination."""

    code = "SAME_ACCOUNT"


class InvalidRequestError(BankError):
    """The request is malformed or a field is out of range."""

    code = "INVALID_REQUEST"


class AccountLockedError(BankError):
    """The account stayed locked by other requests too long; retry with the same request id."""

    code = "ACCOUNT_LOCKED"
    retryable = True


class LockNotHeldError(BankError):
    """Data tier: the lock does not exist or is not the caller's (not expected at clients)."""

    code = "LOCK_NOT_HELD"


class LockExpiredError(BankError):
    """Data tier: the lease of the lock ran out (not expected at clients)."""

    code = "LOCK_EXPIRED"


class StaleFencingTokenError(BankError):
    """Data tier: the fencing token is not the current one (not expected at clients)."""

    code = "STALE_FENCING_TOKEN"


class RequestIdConflictError(BankError):
    """The request id was already used by this client for a request with different content."""

    code = "REQUEST_ID_CONFLICT"


class RateLimitedError(BankError):
    """This client sent more than its share (its request rate, or its places in one account's
    queue); wait ``retry_after_ms``, then send the same request again (same request id)."""

    code = "RATE_LIMITED"
    retryable = True


class LimitExceededError(BankError):
    """The request would pass a configured limit of this client (e.g. accounts per client)."""

    code = "LIMIT_EXCEEDED"


class ServiceUnavailableError(BankError):
    """A tier behind the balancer is down, overloaded or timed out; retry later."""

    code = "SERVICE_UNAVAILABLE"
    retryable = True


class InternalErrorError(BankError):
    """An unexpected server error; the server log has the details under the request id."""

    code = "INTERNAL_ERROR"


#: A friendlier alias; the registry name follows the ``<CamelCase>Error`` rule.
InternalError = InternalErrorError


# ----- failures without a fault code -----


class BankConnectionError(BankError):
    """No answer from the service after the bounded retries (connection refused or reset,
    timeout, or an HTTP error without a SOAP fault, e.g. a 503 from a proxy).

    Whether a money-moving call took effect is unknown: call again with the same
    ``request_id`` (shown on this error) and the service applies it at most once.
    """

    retryable = True

    def __init__(self, message: str, *, request_id: Optional[str] = None, attempts: int = 1) -> None:
        super().__init__(None, message, None, True, request_id=request_id)
        self.attempts = attempts


class BankProtocolError(BankError):
    """The service answered something this client cannot read (not the bank's contract)."""

    def __init__(self, message: str, *, request_id: Optional[str] = None) -> None:
        super().__init__(None, message, None, False, request_id=request_id)


class ConfigurationError(ValueError):
    """The client lacks its URL or credentials (arguments, environment or credentials file)."""


_FAULT_CLASSES = (
    AuthenticationFailedError,
    NotAuthorizedError,
    AccountNotFoundError,
    InsufficientFundsError,
    InvalidAmountError,
    SameAccountError,
    InvalidRequestError,
    AccountLockedError,
    LockNotHeldError,
    LockExpiredError,
    StaleFencingTokenError,
    RequestIdConflictError,
    RateLimitedError,
    LimitExceededError,
    ServiceUnavailableError,
    InternalErrorError,
)

#: Fault code -> exception class, for every code of the registry.
ERRORS_BY_CODE: Dict[str, Type[BankError]] = {cls.code: cls for cls in _FAULT_CLASSES}  # type: ignore[misc]


def class_name_for_code(code: str) -> str:
    """``INSUFFICIENT_FUNDS`` -> ``InsufficientFundsError`` (the naming rule of this module)."""
    return "".join(part.capitalize() for part in code.split("_")) + "Error"


def error_for_code(
    code: Optional[str],
    message: str,
    account_id: Optional[str] = None,
    retryable: Optional[bool] = None,
    *,
    request_id: Optional[str] = None,
    retry_after_ms: Optional[int] = None,
) -> BankError:
    """Build the exception for a fault. An unknown code (a newer server) gives a plain
    BankError that still carries the code; ``retryable=None`` takes the class default."""
    cls = ERRORS_BY_CODE.get(code or "", BankError)
    if retryable is None:
        retryable = cls.retryable
    return cls(code, message, account_id, retryable, request_id=request_id, retry_after_ms=retry_after_ms)


# The naming rule is part of the contract with the registry test: check it at import.
for _code, _cls in ERRORS_BY_CODE.items():
    assert _cls.__name__ == class_name_for_code(_code), (_code, _cls.__name__)
del _code, _cls
