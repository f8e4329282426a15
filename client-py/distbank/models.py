"""What BankClient returns: small frozen dataclasses, money as Decimal with 2 fraction digits,
account ids as str (the contract's AccountId is text: digits, at most 15)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Dict, Optional, Tuple, cast


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {_camel(k): _jsonable(v) for k, v in value.items() if v is not None}
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class _JsonMixin:
    def to_dict(self) -> Dict[str, Any]:
        """camelCase keys like the wire, decimals as strings ("90.00"), None fields left out."""
        return cast(Dict[str, Any], _jsonable(asdict(cast(Any, self))))


@dataclass(frozen=True)
class Account(_JsonMixin):
    """OpenAccount's answer."""

    account_id: str
    balance: Decimal
    request_id: str


@dataclass(frozen=True)
class Balance(_JsonMixin):
    """GetBalance's answer."""

    account_id: str
    balance: Decimal


@dataclass(frozen=True)
class DepositResult(_JsonMixin):
    """Deposit's answer; ``balance`` is None when the account is not the caller's own."""

    transaction_id: str
    account_id: str
    balance: Optional[Decimal]
    request_id: str


@dataclass(frozen=True)
class WithdrawResult(_JsonMixin):
    transaction_id: str
    account_id: str
    balance: Decimal
    request_id: str


@dataclass(frozen=True)
class TransferResult(_JsonMixin):
    """Transfer's answer: ``balance`` is the sender's (from_account_id) balance after it; the
    recipient's balance is never revealed."""

    transaction_id: str
    from_account_id: str
    balance: Decimal
    request_id: str


@dataclass(frozen=True)
class StatementEntry(_JsonMixin):
    transaction_id: str
    kind: str  # OPENING | DEPOSIT | WITHDRAWAL | TRANSFER_OUT | TRANSFER_IN
    amount: Decimal  # signed: negative for money leaving the account
    balance_after: Decimal
    counterparty_account_id: Optional[str]
    at: _dt.datetime
    #: The entry's place in the journal (decimal text): pass the last one of a page as
    #: ``before_entry_id`` to get the next page.
    entry_id: str


@dataclass(frozen=True)
class Statement(_JsonMixin):
    """GetStatement's answer: the current balance and the newest entries first."""

    account_id: str
    balance: Decimal
    entries: Tuple[StatementEntry, ...]
