"""PySimpleSOAP (Debian python3-pysimplesoap) client of the distbank interop test
(test/interop-pysimplesoap.test.ts).

PySimpleSOAP reads the served WSDL at run time (no cache) with its own small WSDL reader, and
sends only the header blocks it found in that WSDL: `client[name] = value` sets a header, and a
block its reader missed is silently left out. Settings come from INTEROP_* environment
variables; every step prints one JSON line, a failure included.
"""
import json
import os
from decimal import Decimal

from pysimplesoap.client import SoapClient, SoapFault

HEADERS = ("auth-token", "client-id", "request-id")


def env(name):
    return os.environ[name]


def out(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def step(name, body):
    """A step that fails prints its error and the next step still runs."""
    try:
        out(name, **body())
    except SoapFault as f:
        detail = f.detail if isinstance(f.detail, dict) else None
        bank_fault = detail.get("BankFault", detail) if detail else None
        if not bank_fault or "code" not in bank_fault:
            out(name, error=f"SoapFault {f.faultcode}: {f.faultstring} detail={f.detail!r}")
        else:
            out(name, faultCode=str(bank_fault["code"]), faultMessage=str(bank_fault.get("message")))
    except Exception as e:  # noqa: BLE001 - the test reads the message
        out(name, error=f"{type(e).__name__}: {e}")


def main():
    def call(operation, token, request_id, **args):
        # A header once set is sent on every later call (there is no way to unset one), so each
        # call gets a client of its own.
        client = SoapClient(wsdl=env("INTEROP_WSDL_URL"), cache=None, timeout=30)
        values = {"auth-token": token, "client-id": env("INTEROP_CLIENT_ID"), "request-id": request_id}
        for name in HEADERS:
            if values[name] is not None:
                client[name] = values[name]
        return getattr(client, operation)(**args)

    token = env("INTEROP_AUTH_TOKEN")
    source, target = env("INTEROP_ACCOUNT"), env("INTEROP_TO_ACCOUNT")

    def transfer(amount, request_id):
        r = call("Transfer", token, request_id, fromAccountId=source, toAccountId=target, amount=amount)
        return {"transactionId": str(r["transactionId"]), "balance": str(r["balance"])}

    def get_balance():
        r = call("GetBalance", token, None, accountId=source)
        return {"accountId": str(r["accountId"]), "balance": str(r["balance"])}

    def bad_token():
        call("GetBalance", env("INTEROP_BAD_TOKEN"), None, accountId=source)
        return {"error": "no fault"}

    def foreign_account():
        call("GetBalance", token, None, accountId=env("INTEROP_FOREIGN_ACCOUNT"))
        return {"error": "no fault"}

    def decimal_amount():
        # Decimal keeps the exponent of a product: 0.10 * 0.1 is Decimal('0.010').
        amount = Decimal("0.10") * Decimal("0.1")
        return {"amount": str(amount), **transfer(amount, env("INTEROP_DECIMAL_REQUEST_ID"))}

    step("getBalance", get_balance)
    for name in ("transfer", "replay"):
        step(name, lambda: transfer(Decimal(env("INTEROP_AMOUNT")), env("INTEROP_REQUEST_ID")))
    step("badToken", bad_token)
    step("foreignAccount", foreign_account)
    step("decimal", decimal_amount)


main()
