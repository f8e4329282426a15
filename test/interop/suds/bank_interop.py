"""suds (Debian python3-suds) client of the distbank interop test (test/interop-suds.test.ts).

suds reads the served WSDL at run time (no cache); the header blocks go in `soapheaders` keyed by
the WSDL's part names. Settings come from INTEROP_* environment variables; every step prints one
JSON line, a failure included.
"""
import json
import os
from decimal import Decimal

import suds
import suds.client


def env(name):
    return os.environ[name]


def out(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def step(name, body):
    """A step that fails prints its error and the next step still runs."""
    try:
        out(name, **body())
    except suds.WebFault as f:
        bank_fault = getattr(f.fault.detail, "BankFault", None) if getattr(f.fault, "detail", None) else None
        if bank_fault is None:
            out(name, error=f"WebFault without BankFault detail: {f}")
        else:
            out(name, faultCode=str(bank_fault.code), faultMessage=str(bank_fault.message))
    except Exception as e:  # noqa: BLE001 - the test reads the message
        out(name, error=f"{type(e).__name__}: {e}")


def main():
    client = suds.client.Client(env("INTEROP_WSDL_URL"), cache=None, timeout=30)
    service = client.service

    def call(operation, token, request_id, **args):
        headers = {"auth-token": token, "client-id": env("INTEROP_CLIENT_ID")}
        if request_id is not None:
            headers["request-id"] = request_id
        client.set_options(soapheaders=headers)
        return getattr(service, operation)(**args)

    token = env("INTEROP_AUTH_TOKEN")
    source, target = env("INTEROP_ACCOUNT"), env("INTEROP_TO_ACCOUNT")

    def transfer(amount, request_id):
        r = call("Transfer", token, request_id, fromAccountId=source, toAccountId=target, amount=amount)
        return {"transactionId": str(r.transactionId), "balance": str(r.balance)}

    def get_balance():
        r = call("GetBalance", token, None, accountId=source)
        return {"accountId": str(r.accountId), "balance": str(r.balance)}

    step("getBalance", get_balance)
    for name in ("transfer", "replay"):
        step(name, lambda: transfer(Decimal(env("INTEROP_AMOUNT")), env("INTEROP_REQUEST_ID")))

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

    step("badToken", bad_token)
    step("foreignAccount", foreign_account)
    step("decimal", decimal_amount)


main()
