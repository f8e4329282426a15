"""The interop steps (see test/helpers/interop-suite.ts) for the Python stacks, suds and
PySimpleSOAP: each stack's program supplies how to call an operation and how to read a fault,
this module runs the steps in order and prints one JSON line per step, a failure included.
"""
import json
import os
from decimal import Decimal


def env(name):
    return os.environ[name]


def out(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def run_steps(call, fault_fields, fault_type):
    """call(operation, token, request_id or None, **args) -> a response with fields by name;
    fault_fields(fault) -> {"faultCode", "faultMessage"} or {"error"} for a fault_type raised."""

    def step(name, body):
        try:
            out(name, **body())
        except fault_type as f:
            out(name, **fault_fields(f))
        except Exception as e:  # noqa: BLE001 - the test reads the message
            out(name, error=f"{type(e).__name__}: {e}")

    token = env("INTEROP_AUTH_TOKEN")
    source, target = env("INTEROP_ACCOUNT"), env("INTEROP_TO_ACCOUNT")

    def transfer(amount, request_id):
        r = call("Transfer", token, request_id, fromAccountId=source, toAccountId=target, amount=amount)
        return {"transactionId": str(r["transactionId"]), "balance": str(r["balance"])}

    def get_balance():
        r = call("GetBalance", token, None, accountId=source)
        return {"accountId": str(r["accountId"]), "balance": str(r["balance"])}

    def expect_fault(token_used, account):
        call("GetBalance", token_used, None, accountId=account)
        return {"error": "no fault"}

    def decimal_amount():
        # Decimal keeps the exponent of a product: 0.10 * 0.1 is Decimal('0.010').
        amount = Decimal("0.10") * Decimal("0.1")
        return {"amount": str(amount), **transfer(amount, env("INTEROP_DECIMAL_REQUEST_ID"))}

    step("getBalance", get_balance)
    for name in ("transfer", "replay"):
        step(name, lambda: transfer(Decimal(env("INTEROP_AMOUNT")), env("INTEROP_REQUEST_ID")))
    step("badToken", lambda: expect_fault(env("INTEROP_BAD_TOKEN"), source))
    step("foreignAccount", lambda: expect_fault(token, env("INTEROP_FOREIGN_ACCOUNT")))
    step("decimal", decimal_amount)
