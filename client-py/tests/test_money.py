"""Amount conversion at the edge: Decimal/int/str in, plain text out, floats refused."""

from decimal import Decimal

import pytest

from distbank.errors import BankProtocolError, InvalidAmountError
from distbank.money import account_id_to_wire, amount_to_wire, format_money, money_from_wire


@pytest.mark.parametrize(
    "value, text",
    [
        (Decimal("10.00"), "10.00"),
        (Decimal("1E+3"), "1000"),  # str(Decimal) would say 1E+3: the wire must not
        (Decimal("0.001"), "0.001"),  # sent as is: the server's INVALID_AMOUNT is what users see
        (Decimal("-1"), "-1"),
        (Decimal("0"), "0"),
        (Decimal("-0"), "-0"),
        (10, "10"),
        (0, "0"),
        (-1, "-1"),
        ("10.00", "10.00"),
        ("0.001", "0.001"),
        ("-1", "-1"),
        ("007", "007"),  # lexically a decimal; the server rejects leading zeros
    ],
)
def test_amounts_pass_through_as_plain_text(value, text):
    assert amount_to_wire(value) == text


@pytest.mark.parametrize("value", [0.1, 10.0, float("nan"), True, None, [1], b"10.00"])
def test_floats_bools_and_other_types_are_type_errors(value):
    with pytest.raises(TypeError) as info:
        amount_to_wire(value)
    assert "Decimal" in str(info.value)


def test_the_float_message_says_why():
    with pytest.raises(TypeError, match="cannot hold cents exactly"):
        amount_to_wire(0.1)


@pytest.mark.parametrize(
    "text", ["", " 10", "10 ", "+5", "1e3", "1E3", "NaN", "nan", "Infinity", "1_000", "10.", ".5", "1,5", "١٠", "0x10", "10.00\n"]
)
def test_strings_that_are_not_plain_decimals_are_refused_locally(text):
    with pytest.raises(InvalidAmountError) as info:
        amount_to_wire(text)
    assert info.value.code == "INVALID_AMOUNT"
    assert info.value.retryable is False


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimals_are_refused_locally(value):
    with pytest.raises(InvalidAmountError):
        amount_to_wire(value)


def test_absurdly_long_amounts_are_refused_locally():
    with pytest.raises(InvalidAmountError):
        amount_to_wire(Decimal("1E+100"))
    with pytest.raises(InvalidAmountError):
        amount_to_wire("1" * 65)


def test_account_ids():
    assert account_id_to_wire(1001) == "1001"
    assert account_id_to_wire("1001") == "1001"
    for bad in (True, 1.0, None, Decimal(1)):
        with pytest.raises(TypeError):
            account_id_to_wire(bad)


def test_money_from_the_wire_has_two_fraction_digits():
    assert str(money_from_wire(Decimal("90"), "balance")) == "90.00"
    assert str(money_from_wire(Decimal("90.5"), "balance")) == "90.50"
    assert str(money_from_wire(Decimal("9E+1"), "balance")) == "90.00"
    with pytest.raises(BankProtocolError):
        money_from_wire(Decimal("0.001"), "balance")
    with pytest.raises(BankProtocolError):
        money_from_wire(90.0, "balance")
    with pytest.raises(BankProtocolError):
        money_from_wire(Decimal("1E+40"), "balance")
    assert format_money(Decimal("5")) == "5.00"
