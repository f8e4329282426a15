"""BankClient: the distbank bank service (bank.wsdl) through zeep.

Exactly-once: every call carries a ``request-id`` header block (a fresh uuid4 hex unless the
caller passes ``request_id=``). When an attempt ends in a timeout, a dropped connection, a
502/503/504 without a SOAP answer, or a fault the service marks retryable (ACCOUNT_LOCKED,
RATE_LIMITED, SERVICE_UNAVAILABLE), the client sends the SAME request again, with the same
request-id, after a bounded, growing pause — and never sooner than a fault's retryAfterMs. The service keeps the outcome under (client-id, request-id), so the
money moves at most once however many attempts reached it.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from decimal import Decimal
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import requests
import zeep
import zeep.exceptions

from . import config as _config
from .errors import BankConnectionError, BankError, BankProtocolError, ConfigurationError
from .faults import BANK_NAMESPACE, error_from_fault
from .models import (
    Account,
    Balance,
    DepositResult,
    Statement,
    StatementEntry,
    TransferResult,
    WithdrawResult,
)
from .transport import BoundedTransport
from .money import AccountIdLike, AmountLike, account_id_to_wire, amount_to_wire, money_from_wire

#: The WSDL shipped inside the package (a copy of the repository's wsdl/bank.wsdl).
PACKAGED_WSDL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wsdl", "bank.wsdl")
BINDING = "{%s}BankBinding" % BANK_NAMESPACE

#: HTTP statuses without a SOAP answer that mean "a proxy had no healthy backend": retry.
_RETRYABLE_HTTP_STATUSES = frozenset((502, 503, 504))
#: Operations that move no money (and take no request_id argument).
_READS = frozenset(("GetBalance", "GetStatement"))
#: requests' failures after which the request may or may not have reached the service.
_TRANSIENT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError)


def new_request_id() -> str:
    """A fresh idempotency key: 32 hex digits (the contract allows [A-Za-z0-9_.:-]{1,64})."""
    return uuid.uuid4().hex


class BankClient:
    """A client of one bank endpoint (normally the load balancer's /bank URL).

    ``url``, ``client_id``, ``auth_token`` default to BANK_URL, BANK_CLIENT_ID,
    BANK_AUTH_TOKEN. ``wsdl`` is where to read the contract: None = the copy in this package
    (no extra round trip); pass ``url + '?wsdl'`` to read the server's. Whatever the WSDL's
    soap:address says, calls go to ``url``. ``timeout_s`` bounds connecting and each read of
    every attempt; ``retries`` is the number of extra attempts (0..10) after a transient
    failure. Not thread-safe for concurrent calls: use one client per thread.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        client_id: Optional[str] = None,
        auth_token: Optional[str] = None,
        wsdl: Optional[str] = None,
        timeout_s: float = _config.TIMEOUT_S_DEFAULT,
        retries: int = _config.RETRIES_DEFAULT,
        backoff_s: float = _config.BACKOFF_S_DEFAULT,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._config = _config.resolve_config(url, client_id, auth_token, timeout_s, retries, backoff_s)
        self._sleep = sleep
        transport = BoundedTransport(self._config.timeout_s)
        self._session = transport.session
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        try:
            self._zeep = zeep.Client(wsdl or PACKAGED_WSDL, transport=transport, settings=settings)
        except (requests.exceptions.RequestException, OSError) as exc:
            self._session.close()
            raise BankConnectionError(f"cannot load the WSDL from {wsdl or PACKAGED_WSDL}: {exc}") from exc
        except zeep.exceptions.Error as exc:
            self._session.close()
            raise BankProtocolError(f"{wsdl or PACKAGED_WSDL} is not a readable WSDL: {exc}") from exc
        try:
            self._service = self._zeep.create_service(BINDING, self._config.url)
        except ValueError:
            self._session.close()
            raise BankProtocolError(f"the WSDL at {wsdl or PACKAGED_WSDL} does not define {BINDING}") from None

    # ----- context manager -----
    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "BankClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BankClient(url={self._config.url!r}, client_id={self._config.client_id!r})"

    @property
    def url(self) -> str:
        return self._config.url

    @property
    def client_id(self) -> str:
        return self._config.client_id

    # ----- operations -----
    def open_account(self, initial_deposit: Optional[AmountLike] = None, *, request_id: Optional[str] = None) -> Account:
        """Open an account owned by this client, optionally with a first deposit.
        Retried with the same request id, it opens one account, not two."""
        body: Dict[str, Any] = {}
        if initial_deposit is not None:
            body["initialDeposit"] = amount_to_wire(initial_deposit)
        rid, r = self._call("OpenAccount", request_id, body)
        return Account(_text(r, "accountId", rid), _money(r, "balance", rid), rid)

    def balance(self, account_id: AccountIdLike) -> Balance:
        """The balance of one of this client's own accounts."""
        rid, r = self._call("GetBalance", None, {"accountId": account_id_to_wire(account_id)})
        return Balance(_text(r, "accountId", rid), _money(r, "balance", rid))

    def deposit(self, account_id: AccountIdLike, amount: AmountLike, *, request_id: Optional[str] = None) -> DepositResult:
        """Deposit into any existing account; the balance comes back only for one's own."""
        body = {"accountId": account_id_to_wire(account_id), "amount": amount_to_wire(amount)}
        rid, r = self._call("Deposit", request_id, body)
        balance = _get(r, "balance")
        return DepositResult(
            _text(r, "transactionId", rid),
            _text(r, "accountId", rid),
            None if balance is None else _money(r, "balance", rid),
            rid,
        )

    def withdraw(self, account_id: AccountIdLike, amount: AmountLike, *, request_id: Optional[str] = None) -> WithdrawResult:
        body = {"accountId": account_id_to_wire(account_id), "amount": amount_to_wire(amount)}
        rid, r = self._call("Withdraw", request_id, body)
        return WithdrawResult(_text(r, "transactionId", rid), _text(r, "accountId", rid), _money(r, "balance", rid), rid)

    def transfer(
        self, from_id: AccountIdLike, to_id: AccountIdLike, amount: AmountLike, *, request_id: Optional[str] = None
    ) -> TransferResult:
        """Move ``amount`` from one of this client's accounts to any account; returns the
        sender's new balance."""
        body = {
            "fromAccountId": account_id_to_wire(from_id),
            "toAccountId": account_id_to_wire(to_id),
            "amount": amount_to_wire(amount),
        }
        rid, r = self._call("Transfer", request_id, body)
        return TransferResult(_text(r, "transactionId", rid), _text(r, "fromAccountId", rid), _money(r, "balance", rid), rid)

    def statement(
        self,
        account_id: AccountIdLike,
        limit: Optional[int] = None,
        *,
        kinds: Optional[Sequence[str]] = None,
        before_entry_id: Optional[str] = None,
    ) -> Statement:
        """The balance and the newest entries first (the service bounds ``limit``: 1..1000,
        default 100; an out-of-range limit comes back as InvalidRequestError). ``kinds`` keeps
        only entries of those kinds (e.g. ``["WITHDRAWAL", "TRANSFER_OUT"]``: what only the owner
        can do, which no one else's deposits can push out of the page); ``before_entry_id`` (the
        last ``entry_id`` of a page) gives the next page."""
        body: Dict[str, Any] = {"accountId": account_id_to_wire(account_id)}
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError(f"limit must be an int, not {type(limit).__name__}")
            body["limit"] = limit
        if kinds:
            if isinstance(kinds, str):
                raise TypeError("kinds must be a list of entry kinds, not a str")
            body["kind"] = list(kinds)
        if before_entry_id is not None:
            if not re.fullmatch(r"[1-9][0-9]{0,14}", str(before_entry_id)):
                raise TypeError(f"before_entry_id must be an entry id, got {before_entry_id!r}")
            body["beforeEntryId"] = int(before_entry_id)
        rid, r = self._call("GetStatement", None, body)
        raw_entries = _get(r, "entry") or []
        if not isinstance(raw_entries, list):
            raw_entries = [raw_entries]
        entries = tuple(_entry(e, rid) for e in raw_entries)
        return Statement(_text(r, "accountId", rid), _money(r, "balance", rid), entries)

    # ----- the one place that talks to the wire -----
    def _call(self, operation: str, request_id: Optional[str], body: Dict[str, Any]) -> Tuple[str, Any]:
        rid = new_request_id() if request_id is None else _config.check_request_id(request_id)
        headers = {"auth-token": self._config.auth_token, "client-id": self._config.client_id, "request-id": rid}
        send = getattr(self._service, operation)
        attempts_max = self._config.retries + 1
        last_failure = "no attempt"
        retry_after_s = 0.0
        for attempt in range(attempts_max):
            if attempt > 0:
                self._sleep(max(self._pause_s(attempt), retry_after_s))
                retry_after_s = 0.0
            try:
                # The same id as a plain HTTP header too, so the balancer logs under it.
                with self._zeep.settings(extra_http_headers={"request-id": rid}):
                    return rid, send(_soapheaders=headers, **body)
            except zeep.exceptions.Fault as fault:
                error = error_from_fault(fault, rid)
                retry_after_s = (error.retry_after_ms or 0) / 1000
                if not error.retryable or attempt + 1 == attempts_max or retry_after_s > _config.RETRY_AFTER_S_MAX:
                    raise error from None
                last_failure = str(error)
            except _TRANSIENT as exc:
                last_failure = _transient_reason(exc, self._config.timeout_s)
            except zeep.exceptions.TransportError as exc:
                if exc.status_code not in _RETRYABLE_HTTP_STATUSES:
                    raise BankProtocolError(
                        f"HTTP {exc.status_code} from {self._config.url} without a SOAP answer", request_id=rid
                    ) from None
                last_failure = f"HTTP {exc.status_code}"
            except (zeep.exceptions.XMLSyntaxError, zeep.exceptions.XMLParseError, zeep.exceptions.ValidationError) as exc:
                raise BankProtocolError(f"unreadable answer from {self._config.url}: {exc}", request_id=rid) from None
            except BankError as exc:  # from our transport (answer too large)
                exc.request_id = rid
                raise
            except requests.exceptions.RequestException as exc:  # bad URL and the like: not transient
                raise ConfigurationError(f"cannot call {self._config.url}: {exc}") from None
        # Only an operation that takes a request id (one that moves money) is told to reuse it.
        advice = "" if operation in _READS else f"; call again with request_id={rid!r} to apply it at most once"
        raise BankConnectionError(
            f"no answer from {self._config.url} after {attempts_max} attempt(s): {last_failure}{advice}",
            request_id=rid,
            attempts=attempts_max,
        )

    def _pause_s(self, attempt: int) -> float:
        return _config.RETRY_POLICY.pause_s(attempt, self._config.backoff_s, random.random())


def _transient_reason(exc: Exception, timeout_s: float) -> str:
    """A short reason for a transport failure; requests' own text is a paragraph."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connecting timed out after {timeout_s:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {timeout_s:g} s"
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno:
        return errno.group(1).strip().lower()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the connection closed without an answer"
    return f"{type(exc).__name__}: {text[:200]}"


def _get(result: Any, name: str) -> Any:
    try:
        return result[name]
    except (KeyError, TypeError, IndexError):
        return getattr(result, name, None)


def _text(result: Any, name: str, rid: str) -> str:
    value = _get(result, name)
    if value is None:
        raise BankProtocolError(f"the answer lacks {name}", request_id=rid)
    return str(value)


def _money(result: Any, name: str, rid: str) -> Decimal:
    try:
        return money_from_wire(_get(result, name), name)
    except BankError as exc:
        exc.request_id = rid
        raise


def _entry(raw: Any, rid: str) -> StatementEntry:
    counterparty = _get(raw, "counterpartyAccountId")
    at = _get(raw, "at")
    if at is None:
        raise BankProtocolError("a statement entry lacks at", request_id=rid)
    return StatementEntry(
        transaction_id=_text(raw, "transactionId", rid),
        kind=_text(raw, "kind", rid),
        amount=_money(raw, "amount", rid),
        balance_after=_money(raw, "balanceAfter", rid),
        counterparty_account_id=None if counterparty is None else str(counterparty),
        at=at,
        entry_id=_text(raw, "entryId", rid),
    )
