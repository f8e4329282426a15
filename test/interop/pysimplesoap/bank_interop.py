"""PySimpleSOAP (Debian python3-pysimplesoap) client of the distbank interop test
(test/interop-pysimplesoap.test.ts).

PySimpleSOAP reads the served WSDL at run time (no cache) with its own small WSDL reader, and
sends only the header blocks it found in that WSDL: `client[name] = value` sets a header, and a
block its reader missed is silently left out. The steps are test/interop/interop_steps.py's.

Workaround, documented in test/interop/README.md: given plain values, PySimpleSOAP writes the
header blocks in NO namespace (`<auth-token>`), which SOAP 1.1 section 4.2 forbids ("All
immediate child elements of the SOAP Header element MUST be namespace-qualified") and the
service refuses (issue 7's envelope rules). Given SimpleXMLElement values it inserts them as they are, so the program
builds each block in the service namespace. Which blocks are sent is still decided by
PySimpleSOAP's WSDL reader.
"""
import os
import sys
from xml.sax.saxutils import escape

from pysimplesoap.client import SoapClient, SoapFault
from pysimplesoap.simplexml import SimpleXMLElement

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from interop_steps import env, run_steps  # noqa: E402

NS = "urn:distbank:bank:v1"


def fault_fields(f):
    detail = f.detail if isinstance(f.detail, dict) else None
    bank_fault = detail.get("BankFault", detail) if detail else None
    if not bank_fault or "code" not in bank_fault:
        return {"error": f"SoapFault {f.faultcode}: {f.faultstring} detail={f.detail!r}"}
    return {"faultCode": str(bank_fault["code"]), "faultMessage": str(bank_fault.get("message"))}


def call(operation, token, request_id, **args):
    # A header once set is sent on every later call (there is no way to unset one), so each
    # call gets a client of its own.
    client = SoapClient(wsdl=env("INTEROP_WSDL_URL"), cache=None, timeout=30)
    values = {"auth-token": token, "client-id": env("INTEROP_CLIENT_ID"), "request-id": request_id}
    for name, value in values.items():
        if value is not None:
            client[name] = SimpleXMLElement(f'<{name} xmlns="{NS}">{escape(value)}</{name}>')
    return getattr(client, operation)(**args)


run_steps(call, fault_fields, SoapFault)
