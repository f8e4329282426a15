"""One exception class per fault code, in step with common/fault-codes.ts and bank.wsdl, and
zeep Faults turned into them."""

import os
import re

import pytest
from lxml import etree
from zeep.exceptions import Fault

import distbank
from distbank.errors import (
    ERRORS_BY_CODE,
    AccountLockedError,
    BankError,
    BankProtocolError,
    InsufficientFundsError,
    NotAuthorizedError,
    class_name_for_code,
    error_for_code,
)
from distbank.faults import BANK_NAMESPACE, error_from_fault

from conftest import CLIENT_PY_DIR, REPO_DIR

REGISTRY_TS = os.path.join(REPO_DIR, "common", "fault-codes.ts")
PACKAGED_WSDL = os.path.join(CLIENT_PY_DIR, "distbank", "wsdl", "bank.wsdl")


def registry():
    """code -> retryable, read from the TypeScript registry (the single source of truth)."""
    if not os.path.exists(REGISTRY_TS):
        pytest.skip("not in the distbank repository (common/fault-codes.ts absent)")
    with open(REGISTRY_TS, encoding="utf-8") as f:
        text = f.read()
    return {m.group(1): m.group(2) == "true" for m in re.finditer(r"^\s+([A-Z_]+): \{[^}]*retryable: (true|false)", text, re.M)}


def test_every_registry_code_has_its_class_and_no_more():
    codes = registry()
    assert len(codes) >= 14
    assert set(ERRORS_BY_CODE) == set(codes)


def test_retryable_defaults_match_the_registry():
    for code, retryable in registry().items():
        assert ERRORS_BY_CODE[code].retryable is retryable, code


def test_the_wsdl_enumerates_the_same_codes():
    tree = etree.parse(PACKAGED_WSDL)
    values = tree.xpath(
        "//xsd:simpleType[@name='FaultCode']//xsd:enumeration/@value",
        namespaces={"xsd": "http://www.w3.org/2001/XMLSchema"},
    )
    assert set(values) == set(ERRORS_BY_CODE)


def test_class_names_follow_the_rule_and_are_exported():
    for code, cls in ERRORS_BY_CODE.items():
        assert cls.__name__ == class_name_for_code(code)
        assert getattr(distbank, cls.__name__) is cls
        assert issubclass(cls, BankError)
        assert cls.code == code
    assert class_name_for_code("INSUFFICIENT_FUNDS") == "InsufficientFundsError"


def fault_with_detail(detail_xml, message="fault string", code="soap:Client"):
    detail = etree.fromstring(f"<detail>{detail_xml}</detail>")
    return Fault(message=message, code=code, detail=detail)


def test_a_zeep_fault_becomes_its_class_with_every_field():
    fault = fault_with_detail(
        f'<BankFault xmlns="{BANK_NAMESPACE}"><code>INSUFFICIENT_FUNDS</code>'
        "<message>balance 5.00 is below 10.00</message><accountId>1001</accountId>"
        "<retryable>false</retryable></BankFault>"
    )
    error = error_from_fault(fault, request_id="r1")
    assert type(error) is InsufficientFundsError
    assert (error.code, error.message, error.account_id, error.retryable, error.request_id) == (
        "INSUFFICIENT_FUNDS",
        "balance 5.00 is below 10.00",
        "1001",
        False,
        "r1",
    )
    assert str(error) == "INSUFFICIENT_FUNDS: balance 5.00 is below 10.00 (account 1001)"
    assert error.to_dict() == {
        "code": "INSUFFICIENT_FUNDS",
        "message": "balance 5.00 is below 10.00",
        "accountId": "1001",
        "retryable": False,
        "requestId": "r1",
    }


def test_the_detail_may_be_the_bank_fault_itself_and_retryable_comes_from_the_wire():
    detail = etree.fromstring(
        f'<BankFault xmlns="{BANK_NAMESPACE}"><code>ACCOUNT_LOCKED</code><message>busy</message>'
        "<retryable>true</retryable></BankFault>"
    )
    error = error_from_fault(Fault("busy", "soap:Server", detail=detail))
    assert type(error) is AccountLockedError and error.retryable is True and error.account_id is None


def test_an_unqualified_bank_fault_is_still_understood():
    error = error_from_fault(
        fault_with_detail("<BankFault><code>NOT_AUTHORIZED</code><message>not yours</message><retryable>false</retryable></BankFault>")
    )
    assert type(error) is NotAuthorizedError


def test_every_code_maps_to_its_class():
    for code, cls in ERRORS_BY_CODE.items():
        fault = fault_with_detail(
            f'<BankFault xmlns="{BANK_NAMESPACE}"><code>{code}</code><message>m</message><retryable>false</retryable></BankFault>'
        )
        assert type(error_from_fault(fault)) is cls


def test_an_unknown_code_keeps_the_code_on_a_plain_bank_error():
    error = error_from_fault(
        fault_with_detail(f'<BankFault xmlns="{BANK_NAMESPACE}"><code>NEW_CODE</code><message>m</message><retryable>true</retryable></BankFault>')
    )
    assert type(error) is BankError and error.code == "NEW_CODE" and error.retryable is True


@pytest.mark.parametrize("detail", [None, "<Envelope>…</Envelope>"])
def test_a_fault_without_bank_fault_detail_is_a_protocol_error(detail):
    error = error_from_fault(Fault("Unknown fault occured", None, detail=detail))
    assert type(error) is BankProtocolError and error.code is None
    assert "Unknown fault occured" in error.message


def test_error_for_code_defaults_retryable_from_the_class():
    assert error_for_code("SERVICE_UNAVAILABLE", "down").retryable is True
    assert error_for_code("INSUFFICIENT_FUNDS", "no").retryable is False


def test_the_account_is_named_once():
    assert str(error_for_code("ACCOUNT_NOT_FOUND", "account 999 does not exist", "999")) == (
        "ACCOUNT_NOT_FOUND: account 999 does not exist"
    )
    assert str(error_for_code("NOT_AUTHORIZED", "says the server", "1001")) == "NOT_AUTHORIZED: says the server (account 1001)"
    # A longer number that merely contains the id is not the account.
    assert str(error_for_code("NOT_AUTHORIZED", "account 10 is not yours", "1")) == (
        "NOT_AUTHORIZED: account 10 is not yours (account 1)"
    )
