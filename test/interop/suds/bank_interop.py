"""suds (Debian python3-suds) client of the distbank interop test (test/interop-suds.test.ts).

suds reads the served WSDL at run time (no cache); the header blocks go in `soapheaders` keyed by
the WSDL's part names. The steps are test/interop/interop_steps.py's.
"""
import os
import sys

import suds
import suds.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from interop_steps import env, run_steps  # noqa: E402


def fault_fields(f):
    detail = getattr(f.fault, "detail", None)
    bank_fault = getattr(detail, "BankFault", None) if detail is not None else None
    if bank_fault is None:
        return {"error": f"WebFault without BankFault detail: {f}"}
    return {"faultCode": str(bank_fault.code), "faultMessage": str(bank_fault.message)}


def main():
    client = suds.client.Client(env("INTEROP_WSDL_URL"), cache=None, timeout=30)

    def call(operation, token, request_id, **args):
        headers = {"auth-token": token, "client-id": env("INTEROP_CLIENT_ID")}
        if request_id is not None:
            headers["request-id"] = request_id
        client.set_options(soapheaders=headers)
        return getattr(client.service, operation)(**args)

    run_steps(call, fault_fields, suds.WebFault)


main()
