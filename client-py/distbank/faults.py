"""Turn a SOAP fault (zeep.exceptions.Fault) into the exception class of its fault code.

The service puts ``<BankFault xmlns="urn:distbank:bank:v1">`` (code, message, accountId?,
retryable, retryAfterMs?) into the fault's ``<detail>``. zeep hands us ``detail`` as the lxml ``<detail>``
element (or, for a reply without any Fault element, as a string). This module only duck-types
the fault (``.message``, ``.code``, ``.detail``), so it does not import zeep.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from .errors import BankError, BankProtocolError, error_for_code

BANK_NAMESPACE = "urn:distbank:bank:v1"
_FAULT_ELEMENT = "BankFault"


def _local_name(tag: Any) -> str:
    # lxml comments and processing instructions have a non-str tag.
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _find_bank_fault(detail: Any) -> Any:
    """The BankFault element inside (or being) the detail; namespace-tolerant so that a
    server that forgets to qualify it is still understood."""
    if detail is None or isinstance(detail, (str, bytes)):
        return None
    if _local_name(getattr(detail, "tag", None)) == _FAULT_ELEMENT:
        return detail
    for element in detail.iter():
        if _local_name(element.tag) == _FAULT_ELEMENT:
            return element
    return None


def _fields(bank_fault: Any) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for child in bank_fault:
        name = _local_name(child.tag)
        if name and name not in fields:
            fields[name] = (child.text or "").strip()
    return fields


def _parse_bool(text: Optional[str]) -> Optional[bool]:
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    return None


def error_from_fault(fault: Any, request_id: Optional[str] = None) -> BankError:
    """The BankError subclass for a zeep Fault. A fault without a readable BankFault detail
    (not from this service, or a proxy's) becomes a BankProtocolError carrying its text."""
    bank_fault = _find_bank_fault(getattr(fault, "detail", None))
    if bank_fault is None:
        soap_code = getattr(fault, "code", None)
        text = getattr(fault, "message", None) or str(fault)
        return BankProtocolError(
            f"SOAP fault without a BankFault detail (faultcode {soap_code}): {text}", request_id=request_id
        )
    fields = _fields(bank_fault)
    code = fields.get("code") or None
    message = fields.get("message") or getattr(fault, "message", None) or "(no message)"
    account_id = fields.get("accountId") or None
    retryable = _parse_bool(fields.get("retryable"))
    retry_after = fields.get("retryAfterMs") or ""
    retry_after_ms = int(retry_after) if retry_after.isdigit() and len(retry_after) <= 9 else None
    return error_for_code(code, message, account_id, retryable, request_id=request_id, retry_after_ms=retry_after_ms)
