"""distbank: a Python client (on zeep) for the distbank SOAP bank service.

    from decimal import Decimal
    from distbank import BankClient, InsufficientFundsError

    with BankClient() as bank:  # BANK_URL, BANK_CLIENT_ID, BANK_AUTH_TOKEN
        result = bank.transfer("1001", "1002", Decimal("10.00"))
        print(result.balance)

The exceptions (distbank.errors) import without zeep; BankClient and the result types load
zeep on first use, so tools that only need the error registry work anywhere.
"""

from __future__ import annotations

from typing import Any

from .errors import *  # noqa: F401,F403  (the exception classes are the public API)
from .errors import ERRORS_BY_CODE, BankConnectionError, BankError, BankProtocolError, ConfigurationError  # noqa: F401

__version__ = "0.1.0"

_LAZY = {
    "BankClient": "client",
    "new_request_id": "client",
    "Account": "models",
    "Balance": "models",
    "DepositResult": "models",
    "WithdrawResult": "models",
    "TransferResult": "models",
    "Statement": "models",
    "StatementEntry": "models",
}


def __getattr__(name: str) -> Any:  # PEP 562: import zeep only when the client is used
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'distbank' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{module_name}", __name__)
    return getattr(module, name)
