"""BankClient against a real cluster (balancer -> business servers -> data server).
Skipped unless BANK_URL and DISTBANK_DEMO_CREDENTIALS are set (test/client-py.test.ts sets them).
Each test opens its own accounts, so tests do not depend on each other or on the demo balances."""

from decimal import Decimal

import pytest

from distbank import BankClient, new_request_id
from distbank.errors import (
    AccountNotFoundError,
    AuthenticationFailedError,
    InsufficientFundsError,
    InvalidAmountError,
    InvalidRequestError,
    NotAuthorizedError,
    RequestIdConflictError,
    SameAccountError,
)
from lossy_proxy import LossyProxy

TIMEOUT_S = 15.0


def make_client(cluster, index, **kwargs):
    c = cluster["clients"][index]
    options = dict(timeout_s=TIMEOUT_S)
    options.update(kwargs)
    url = options.pop("url", cluster["url"])
    return BankClient(url, c["clientId"], c["authToken"], **options)


@pytest.fixture
def alice(cluster):
    with make_client(cluster, 0) as client:
        yield client


@pytest.fixture
def bob(cluster):
    with make_client(cluster, 1) as client:
        yield client


@pytest.fixture
def alice_account(alice):
    """A fresh account of alice's with 100.00."""
    account = alice.open_account(Decimal("100.00"))
    assert account.balance == Decimal("100.00")
    return account.account_id


@pytest.fixture
def bob_account(bob):
    account = bob.open_account()
    assert account.balance == Decimal("0.00")
    return account.account_id


def test_the_seed_story_a_transfer_and_the_new_balance(alice, bob, alice_account, bob_account):
    result = alice.transfer(alice_account, bob_account, Decimal("10.00"))
    assert result.balance == Decimal("90.00") and str(result.balance) == "90.00"
    assert result.from_account_id == alice_account and result.transaction_id
    assert alice.balance(alice_account).balance == Decimal("90.00")
    assert bob.balance(bob_account).balance == Decimal("10.00")
    [out, opening] = alice.statement(alice_account).entries
    assert (out.kind, out.amount, out.balance_after, out.counterparty_account_id) == (
        "TRANSFER_OUT", Decimal("-10.00"), Decimal("90.00"), bob_account
    )
    assert out.transaction_id == result.transaction_id
    assert opening.kind == "OPENING" and opening.amount == Decimal("100.00")
    [incoming] = [e for e in bob.statement(bob_account).entries if e.kind == "TRANSFER_IN"]
    assert incoming.amount == Decimal("10.00") and incoming.counterparty_account_id == alice_account


def test_insufficient_funds(alice, alice_account):
    with pytest.raises(InsufficientFundsError) as info:
        alice.withdraw(alice_account, Decimal("100.01"))
    assert info.value.code == "INSUFFICIENT_FUNDS" and info.value.retryable is False
    with pytest.raises(InsufficientFundsError):
        alice.transfer(alice_account, alice.open_account().account_id, "1000.00")
    assert alice.balance(alice_account).balance == Decimal("100.00")


def test_a_foreign_account_is_not_authorized(alice, bob_account):
    for call in (
        lambda: alice.balance(bob_account),
        lambda: alice.withdraw(bob_account, "1.00"),
        lambda: alice.statement(bob_account),
        lambda: alice.transfer(bob_account, "1", "1.00"),
    ):
        with pytest.raises(NotAuthorizedError) as info:
            call()
        assert info.value.code == "NOT_AUTHORIZED" and info.value.retryable is False


def test_a_deposit_into_a_foreign_account_shows_no_balance(alice, bob, bob_account):
    result = alice.deposit(bob_account, Decimal("2.50"))
    assert result.balance is None and result.account_id == bob_account
    assert bob.balance(bob_account).balance == Decimal("2.50")


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_a_bad_token_is_authentication_failed(cluster, alice_account, token):
    c = cluster["clients"][0]
    with BankClient(cluster["url"], c["clientId"], token or "x", timeout_s=TIMEOUT_S) as bank:
        with pytest.raises(AuthenticationFailedError) as info:
            bank.balance(alice_account)
    assert info.value.code == "AUTHENTICATION_FAILED"
    with BankClient(cluster["url"], "nobody", c["authToken"], timeout_s=TIMEOUT_S) as bank:
        with pytest.raises(AuthenticationFailedError):
            bank.transfer(alice_account, "1", "1.00")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("0.001"), "0", "-1", "0.001", 0, -1, "0.00", "1000000.01"])
def test_invalid_amounts_come_back_from_the_server(alice, alice_account, bob_account, amount):
    for call in (
        lambda: alice.deposit(alice_account, amount),
        lambda: alice.withdraw(alice_account, amount),
        lambda: alice.transfer(alice_account, bob_account, amount),
    ):
        with pytest.raises(InvalidAmountError) as info:
            call()
        assert "rejected by the client" not in info.value.message  # the server's own fault
    assert alice.balance(alice_account).balance == Decimal("100.00")


def test_same_account_unknown_account_and_bad_limit(alice, alice_account):
    with pytest.raises(SameAccountError):
        alice.transfer(alice_account, alice_account, "1.00")
    with pytest.raises(AccountNotFoundError):
        alice.deposit("999999999999", "1.00")
    with pytest.raises(InvalidRequestError):
        alice.statement(alice_account, limit=0)
    assert len(alice.statement(alice_account, limit=1).entries) == 1


def test_a_retry_with_the_same_request_id_moves_money_once(alice, bob, alice_account, bob_account):
    rid = new_request_id()
    first = alice.transfer(alice_account, bob_account, "10.00", request_id=rid)
    again = alice.transfer(alice_account, bob_account, "10.00", request_id=rid)
    assert again.transaction_id == first.transaction_id
    assert alice.balance(alice_account).balance == Decimal("90.00")
    assert bob.balance(bob_account).balance == Decimal("10.00")
    with pytest.raises(RequestIdConflictError):
        alice.transfer(alice_account, bob_account, "11.00", request_id=rid)
    # A final failure is replayed too, and moves nothing.
    rid2 = new_request_id()
    for _ in range(2):
        with pytest.raises(InsufficientFundsError):
            alice.withdraw(alice_account, "500.00", request_id=rid2)
    assert alice.balance(alice_account).balance == Decimal("90.00")


def test_open_account_retried_opens_one_account(alice):
    rid = new_request_id()
    first = alice.open_account("3.00", request_id=rid)
    again = alice.open_account("3.00", request_id=rid)
    assert again.account_id == first.account_id


@pytest.mark.parametrize("mode", ["drop", "stall"])
def test_a_lost_answer_is_retried_and_the_money_moves_once(cluster, alice, bob, alice_account, bob_account, mode):
    # The proxy forwards the first transfer to the bank (money moves) and loses the answer.
    with LossyProxy(cluster["url"], lose_first=1, mode=mode, stall_s=3.0) as proxy:
        with make_client(cluster, 0, url=proxy.url, timeout_s=1.0, retries=3, backoff_s=0.05) as via_proxy:
            result = via_proxy.transfer(alice_account, bob_account, Decimal("10.00"))
    assert len(proxy.received) == 2, "one lost answer, one retry"
    assert proxy.forwarded_statuses == [200, 200]
    ids = {r.soap_request_id for r in proxy.received}
    assert ids == {result.request_id}
    assert result.balance == Decimal("90.00")
    assert alice.balance(alice_account).balance == Decimal("90.00")
    assert bob.balance(bob_account).balance == Decimal("10.00")


def test_the_wsdl_can_come_from_the_server(cluster, alice_account):
    with make_client(cluster, 0, wsdl=cluster["url"] + "?wsdl") as bank:
        assert bank.balance(alice_account).balance == Decimal("100.00")
