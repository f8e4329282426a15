"""Amounts and account ids at the edge between Python and the wire.

Money is ``decimal.Decimal`` in and out, never a binary float. What the client accepts as an
amount:

- ``decimal.Decimal`` (finite): sent in plain notation (``Decimal('1E+3')`` -> ``1000``);
- ``int`` (not bool): whole currency units, ``10`` means 10.00;
- ``str`` in plain decimal notation (``"10.00"``, ``"-1"``, ``"0.001"``); other text raises
  InvalidAmountError before any network call: what is not an ``xsd:decimal`` at all (``"1e3"``,
  ``"NaN"``, ``"1_000"``, ``""``), and — the client is stricter in what it sends than the
  service in what it reads — forms the service would read by value but this client does not
  write (``" 10"``, ``"+5"``, ``".5"``);
- ``float`` raises TypeError: 0.1 + 0.2 != 0.3 in binary floats.

The client deliberately does NOT check the range or the number of fraction digits: ``0``,
``-1`` and ``0.001`` go to the service, whose INVALID_AMOUNT fault (with the configured
maximum and rules) is what the caller sees. One rule, enforced in one place: the server, which
reads amounts by value (``Decimal("0.010")`` is sent as ``0.010`` and moves 0.01; ``0.011`` is
INVALID_AMOUNT). Money the service returns is read by value too (money_from_wire).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Union

from .errors import BankProtocolError, InvalidAmountError

AmountLike = Union[Decimal, int, str]
AccountIdLike = Union[int, str]

#: Longest amount text the client will send; far above any valid amount (16 digits + 3).
AMOUNT_TEXT_CHARS_MAX = 64
#: Longest account id text the client will send (the contract allows 15 digits).
ACCOUNT_ID_CHARS_MAX = 64

CENT = Decimal("0.01")

# ASCII digits only: str.isdigit and \d also accept other scripts' digits.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")


def amount_to_wire(value: object) -> str:
    """The amount as the text that goes into the SOAP body (see the module doc)."""
    if isinstance(value, bool):
        raise TypeError("amount must be a decimal.Decimal, an int or a str like '10.00', not bool")
    if isinstance(value, float):
        raise TypeError(
            f"amount must be a decimal.Decimal, an int or a str like '10.00', not float ({value!r}): "
            "binary floats cannot hold cents exactly; write Decimal('10.00') or '10.00'"
        )
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmountError("INVALID_AMOUNT", f"amount {value} is not a finite number (rejected by the client)")
        text = format(value, "f")
    elif isinstance(value, str):
        if not _PLAIN_DECIMAL.match(value):
            raise InvalidAmountError(
                "INVALID_AMOUNT",
                f"amount {value[:AMOUNT_TEXT_CHARS_MAX]!r} is not a plain decimal number like '10.00' (rejected by the client)",
            )
        text = value
    else:
        raise TypeError(
            f"amount must be a decimal.Decimal, an int or a str like '10.00', not {type(value).__name__}"
        )
    if len(text) > AMOUNT_TEXT_CHARS_MAX:
        raise InvalidAmountError(
            "INVALID_AMOUNT", f"amount has {len(text)} characters, more than {AMOUNT_TEXT_CHARS_MAX} (rejected by the client)"
        )
    return text


def account_id_to_wire(value: object) -> str:
    """An account id as wire text. ints and strs pass through unchecked beyond their type:
    the service answers a malformed or unknown id with its own fault."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"account id must be an int or a str of digits, not {type(value).__name__}")
    text = str(value)
    if len(text) > ACCOUNT_ID_CHARS_MAX:
        raise TypeError(f"account id has {len(text)} characters, more than {ACCOUNT_ID_CHARS_MAX}")
    return text


def money_from_wire(value: object, field: str) -> Decimal:
    """A decimal the service sent (zeep gives Decimal) as a Decimal with exactly 2 fraction
    digits, so balances print and compare alike ("90.00", never "90" or "9E+1")."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise BankProtocolError(f"the service sent {field}={value!r}, not a decimal")
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:  # more digits than the decimal context holds
        raise BankProtocolError(f"the service sent {field}={value}, out of range") from None
    if cents != value:
        raise BankProtocolError(f"the service sent {field}={value}, more than 2 fraction digits")
    return cents


def format_money(value: Decimal) -> str:
    """Plain notation with 2 fraction digits for display."""
    return format(value.quantize(CENT), "f")
