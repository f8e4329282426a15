"""BankClient against a scripted local HTTP server (127.0.0.1, port 0): what goes on the wire,
how answers and faults come back, and that retries reuse the request id. No mocks: real
sockets, real zeep."""

from decimal import Decimal

import pytest

from distbank import BankClient
from distbank.errors import (
    AccountLockedError,
    BankConnectionError,
    BankProtocolError,
    ConfigurationError,
    InsufficientFundsError,
    RateLimitedError,
    ServiceUnavailableError,
)
from distbank.faults import BANK_NAMESPACE
from scripted_server import (
    NS,
    ScriptedServer,
    answer,
    bank_fault,
    drop,
    envelope,
    stall,
    transfer_response,
)

NO_SLEEP = lambda seconds: None  # noqa: E731  the backoff itself is tested separately


def client_for(server, **kwargs):
    options = dict(client_id="alice", auth_token="secret-token", timeout_s=2.0, retries=3, sleep=NO_SLEEP)
    options.update(kwargs)
    return BankClient(server.url, **options)


def test_a_transfer_sends_headers_soapaction_and_plain_amount_text_and_reads_the_answer():
    with ScriptedServer([answer(transfer_response("t42", "1001", "90"))]) as server:
        with client_for(server) as bank:
            result = bank.transfer(1001, "1002", Decimal("10.00"))
    assert (result.transaction_id, result.from_account_id, result.balance) == ("t42", "1001", Decimal("90.00"))
    assert str(result.balance) == "90.00"
    [sent] = server.received
    assert sent.headers["soapaction"] == f'"{BANK_NAMESPACE}#Transfer"'
    assert ">alice</" in sent.body and ">secret-token</" in sent.body
    assert "<ns0:amount>10.00</ns0:amount>" in sent.body.replace("ns1:", "ns0:")
    assert len(sent.soap_request_id) == 32
    assert sent.headers["request-id"] == sent.soap_request_id  # same id for the balancer's logs
    assert result.request_id == sent.soap_request_id


def test_each_call_gets_a_fresh_request_id_unless_the_caller_gives_one():
    steps = [answer(transfer_response()) for _ in range(3)]
    with ScriptedServer(steps) as server:
        with client_for(server) as bank:
            bank.transfer(1, 2, "1.00")
            bank.transfer(1, 2, "1.00")
            bank.transfer(1, 2, "1.00", request_id="my-key:1")
    ids = [r.soap_request_id for r in server.received]
    assert ids[0] != ids[1] and ids[2] == "my-key:1"


def test_a_dropped_connection_is_retried_with_the_same_request_id():
    with ScriptedServer([drop(), answer(transfer_response("t7"))]) as server:
        with client_for(server) as bank:
            result = bank.transfer(1001, 1002, "10.00")
    ids = [r.soap_request_id for r in server.received]
    assert len(ids) == 2 and ids[0] == ids[1] == result.request_id
    assert server.received[0].body == server.received[1].body  # the very same request
    assert result.transaction_id == "t7"


def test_a_timeout_is_retried_with_the_same_request_id():
    with ScriptedServer([stall(1.5), answer(transfer_response())]) as server:
        with client_for(server, timeout_s=0.3) as bank:
            result = bank.transfer(1001, 1002, "10.00", request_id="fixed-1")
    assert [r.soap_request_id for r in server.received] == ["fixed-1", "fixed-1"]
    assert result.request_id == "fixed-1"


def test_retryable_faults_are_retried_with_the_same_request_id():
    steps = [
        answer(bank_fault("ACCOUNT_LOCKED", "busy", True, "1001", "soap:Server"), 500),
        answer(bank_fault("SERVICE_UNAVAILABLE", "data tier down", True, None, "soap:Server"), 500),
        answer(transfer_response()),
    ]
    with ScriptedServer(steps) as server:
        with client_for(server) as bank:
            result = bank.transfer(1001, 1002, "10.00")
    ids = {r.soap_request_id for r in server.received}
    assert len(server.received) == 3 and ids == {result.request_id}


def test_rate_limited_is_retried_no_sooner_than_its_retry_after_ms():
    slept = []
    steps = [
        answer(bank_fault("RATE_LIMITED", "too many requests", True, None, "soap:Server", retry_after_ms=750), 500),
        answer(transfer_response()),
    ]
    with ScriptedServer(steps) as server:
        with client_for(server, sleep=slept.append, backoff_s=0.01) as bank:
            bank.transfer(1001, 1002, "10.00")
    assert len(server.received) == 2
    assert slept and slept[0] >= 0.75


def test_rate_limited_with_a_long_wait_is_raised_at_once_with_retry_after_ms():
    steps = [answer(bank_fault("RATE_LIMITED", "too many requests", True, None, "soap:Server", retry_after_ms=60_000), 500)]
    with ScriptedServer(steps) as server:
        with client_for(server) as bank:
            with pytest.raises(RateLimitedError) as caught:
                bank.transfer(1001, 1002, "10.00")
    assert len(server.received) == 1
    assert caught.value.retry_after_ms == 60_000 and caught.value.retryable
    assert caught.value.to_dict()["retryAfterMs"] == 60_000


def test_a_503_without_soap_from_a_proxy_is_retried():
    with ScriptedServer([answer("no backend", 503, "text/plain"), answer(transfer_response())]) as server:
        with client_for(server) as bank:
            bank.transfer(1001, 1002, "10.00")
    assert len(server.received) == 2


def test_a_final_fault_is_raised_at_once_with_its_fields():
    with ScriptedServer([answer(bank_fault("INSUFFICIENT_FUNDS", "balance too low", False, "1001"), 500)]) as server:
        with client_for(server) as bank:
            with pytest.raises(InsufficientFundsError) as info:
                bank.transfer(1001, 1002, "1000000.00")
    assert len(server.received) == 1
    e = info.value
    assert (e.code, e.message, e.account_id, e.retryable) == ("INSUFFICIENT_FUNDS", "balance too low", "1001", False)
    assert e.request_id == server.received[0].soap_request_id


def test_retries_are_bounded_and_end_in_a_connection_error_carrying_the_request_id():
    with ScriptedServer([drop(), drop(), drop()]) as server:
        with client_for(server, retries=2) as bank:
            with pytest.raises(BankConnectionError) as info:
                bank.deposit(1001, "5.00")
    assert len(server.received) == 3
    assert {r.soap_request_id for r in server.received} == {info.value.request_id}
    assert info.value.attempts == 3 and info.value.retryable is True
    assert "closed without an answer" in str(info.value) or "reset" in str(info.value)


def test_a_retryable_fault_that_persists_is_raised_as_itself_after_the_last_attempt():
    fault = bank_fault("ACCOUNT_LOCKED", "busy", True, "1001", "soap:Server")
    with ScriptedServer([answer(fault, 500), answer(fault, 500)]) as server:
        with client_for(server, retries=1) as bank:
            with pytest.raises(AccountLockedError):
                bank.withdraw(1001, "5.00")
    assert len(server.received) == 2


def test_retries_zero_means_one_attempt():
    with ScriptedServer([answer(bank_fault("SERVICE_UNAVAILABLE", "down", True), 500)]) as server:
        with client_for(server, retries=0) as bank:
            with pytest.raises(ServiceUnavailableError):
                bank.balance(1001)
    assert len(server.received) == 1


def test_backoff_pauses_grow_and_stay_bounded():
    pauses = []
    with ScriptedServer([drop()] * 5) as server:
        with client_for(server, retries=4, backoff_s=0.5, sleep=pauses.append) as bank:
            with pytest.raises(BankConnectionError):
                bank.balance(1)
    assert len(pauses) == 4
    ceilings = [0.5, 1.0, 2.0, 2.0]  # doubling, capped at BACKOFF_S_MAX
    for pause, ceiling in zip(pauses, ceilings):
        assert ceiling / 2 <= pause <= ceiling


def test_an_http_error_that_is_not_transient_is_a_protocol_error():
    with ScriptedServer([answer("not here", 404, "text/plain")]) as server:
        with client_for(server) as bank:
            with pytest.raises(BankProtocolError):
                bank.balance(1)
    assert len(server.received) == 1


def test_a_fault_without_bank_fault_detail_is_a_protocol_error():
    body = envelope("<soap:Fault><faultcode>soap:Server</faultcode><faultstring>boom</faultstring></soap:Fault>")
    with ScriptedServer([answer(body, 500)]) as server:
        with client_for(server) as bank:
            with pytest.raises(BankProtocolError, match="boom"):
                bank.balance(1)


def test_deposit_into_a_foreign_account_has_no_balance():
    body = envelope(f'<DepositResponse xmlns="{NS}"><transactionId>t9</transactionId><accountId>2002</accountId></DepositResponse>')
    with ScriptedServer([answer(body)]) as server:
        with client_for(server) as bank:
            result = bank.deposit("2002", 5)
    assert result.balance is None and result.account_id == "2002"
    assert "<ns0:amount>5</ns0:amount>" in server.received[0].body


def test_statement_entries_and_the_limit():
    entry = (
        "<entry><transactionId>t{n}</transactionId><kind>{kind}</kind><amount>{amount}</amount>"
        "<balanceAfter>{after}</balanceAfter>{cp}<at>2026-11-26T15:00:0{n}Z</at><entryId>{n}</entryId></entry>"
    )
    entries = entry.format(n=2, kind="TRANSFER_OUT", amount="-10.00", after="90.00", cp="<counterpartyAccountId>1002</counterpartyAccountId>")
    entries += entry.format(n=1, kind="OPENING", amount="100.00", after="100.00", cp="")
    body = envelope(f'<GetStatementResponse xmlns="{NS}"><accountId>1001</accountId><balance>90.00</balance>{entries}</GetStatementResponse>')
    one = envelope(
        f'<GetStatementResponse xmlns="{NS}"><accountId>1001</accountId><balance>90.00</balance>'
        + entry.format(n=1, kind="OPENING", amount="100", after="100", cp="")
        + "</GetStatementResponse>"
    )
    with ScriptedServer([answer(body), answer(one)]) as server:
        with client_for(server) as bank:
            statement = bank.statement(1001, limit=2)
            single = bank.statement(1001)
    assert "<ns0:limit>2</ns0:limit>" in server.received[0].body
    assert "limit" not in server.received[1].body
    assert [e.kind for e in statement.entries] == ["TRANSFER_OUT", "OPENING"]
    first = statement.entries[0]
    assert (first.amount, first.balance_after, first.counterparty_account_id) == (Decimal("-10.00"), Decimal("90.00"), "1002")
    assert first.at.year == 2026 and first.at.tzinfo is not None
    assert statement.entries[1].counterparty_account_id is None
    assert len(single.entries) == 1 and str(single.entries[0].amount) == "100.00"
    assert statement.to_dict()["entries"][0]["amount"] == "-10.00"
    assert [e.entry_id for e in statement.entries] == ["2", "1"]


def test_statement_kind_filter_and_paging_cursor_go_on_the_wire():
    body = envelope(f'<GetStatementResponse xmlns="{NS}"><accountId>1001</accountId><balance>90.00</balance></GetStatementResponse>')
    with ScriptedServer([answer(body)]) as server:
        with client_for(server) as bank:
            bank.statement(1001, 10, kinds=["WITHDRAWAL", "TRANSFER_OUT"], before_entry_id="12345")
            with pytest.raises(TypeError):
                bank.statement(1001, kinds="WITHDRAWAL")
            with pytest.raises(TypeError):
                bank.statement(1001, before_entry_id="0")
    sent = server.received[0].body.replace("ns1:", "ns0:")
    assert "<ns0:kind>WITHDRAWAL</ns0:kind><ns0:kind>TRANSFER_OUT</ns0:kind>" in sent
    assert "<ns0:beforeEntryId>12345</ns0:beforeEntryId>" in sent


def test_open_account_without_and_with_initial_deposit():
    body = envelope(f'<OpenAccountResponse xmlns="{NS}"><accountId>7</accountId><balance>0</balance></OpenAccountResponse>')
    with ScriptedServer([answer(body), answer(body)]) as server:
        with client_for(server) as bank:
            account = bank.open_account()
            bank.open_account(Decimal("100.00"))
    assert account.account_id == "7" and str(account.balance) == "0.00"
    assert "initialDeposit" not in server.received[0].body
    assert ">100.00</" in server.received[1].body


def test_the_endpoint_is_the_given_url_whatever_the_wsdl_says():
    # The packaged WSDL says http://127.0.0.1:8080/bank; the call must reach the scripted server.
    with ScriptedServer([answer(transfer_response())]) as server:
        with client_for(server) as bank:
            bank.transfer(1, 2, "1.00")
        assert len(server.received) == 1


def test_configuration_comes_from_arguments_or_the_environment(monkeypatch):
    monkeypatch.delenv("BANK_URL", raising=False)
    monkeypatch.delenv("BANK_CLIENT_ID", raising=False)
    monkeypatch.delenv("BANK_AUTH_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="BANK_URL.*BANK_CLIENT_ID.*BANK_AUTH_TOKEN"):
        BankClient()
    monkeypatch.setenv("BANK_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("BANK_CLIENT_ID", "env-client")
    monkeypatch.setenv("BANK_AUTH_TOKEN", "env-token")
    with BankClient() as bank:
        assert bank.url == "http://127.0.0.1:9/bank" and bank.client_id == "env-client"
    with BankClient(client_id="arg-client") as bank:
        assert bank.client_id == "arg-client"
    for bad in (dict(timeout_s=0), dict(timeout_s=1e9), dict(retries=-1), dict(retries=11), dict(url="ftp://x")):
        with pytest.raises(ConfigurationError):
            BankClient(**bad)


def test_a_bad_request_id_is_refused_before_sending():
    with ScriptedServer([]) as server:
        with client_for(server) as bank:
            with pytest.raises(ValueError, match="request_id"):
                bank.transfer(1, 2, "1.00", request_id="has space")
            with pytest.raises(ValueError):
                bank.transfer(1, 2, "1.00", request_id="x" * 65)
    assert server.received == []


def test_floats_never_reach_the_wire():
    with ScriptedServer([]) as server:
        with client_for(server) as bank:
            with pytest.raises(TypeError, match="float"):
                bank.deposit(1, 10.0)
            with pytest.raises(TypeError):
                bank.open_account(0.5)
    assert server.received == []


def test_the_token_never_shows_in_reprs_or_errors(monkeypatch):
    monkeypatch.delenv("BANK_URL", raising=False)
    with ScriptedServer([answer(bank_fault("AUTHENTICATION_FAILED", "wrong token", False), 500)]) as server:
        with client_for(server, auth_token="s3cret-t0ken") as bank:
            assert "s3cret-t0ken" not in repr(bank._config) + repr(bank)
            assert repr(bank) == f"BankClient(url={server.url!r}, client_id='alice')"
            with pytest.raises(Exception) as info:
                bank.balance(1)
    assert "s3cret-t0ken" not in repr(info.value) + str(info.value)
    with pytest.raises(ConfigurationError) as info:
        BankClient(None, "alice", "s3cret-t0ken")
    assert "s3cret-t0ken" not in str(info.value)


def test_a_wsdl_that_cannot_be_loaded_is_a_typed_error():
    with ScriptedServer([drop()]) as server:
        with pytest.raises(BankConnectionError, match="WSDL"):
            BankClient(server.url, "alice", "t", wsdl=server.url + "?wsdl", timeout_s=2.0)
    with ScriptedServer([answer("<html>not a wsdl</html>", 200, "text/html")]) as server:
        with pytest.raises(BankProtocolError, match="WSDL"):
            BankClient(server.url, "alice", "t", wsdl=server.url + "?wsdl", timeout_s=2.0)


def test_an_oversized_answer_is_refused():
    from distbank.config import RESPONSE_BYTES_MAX

    padding = "x" * (RESPONSE_BYTES_MAX + 1)
    body = envelope(f'<GetBalanceResponse xmlns="{NS}"><accountId>1</accountId><balance>1.00</balance></GetBalanceResponse><!--{padding}-->')
    with ScriptedServer([answer(body)]) as server:
        with client_for(server) as bank:
            with pytest.raises(BankProtocolError, match="larger than") as info:
                bank.balance(1)
    assert info.value.request_id == server.received[0].soap_request_id


def test_the_user_agent_names_the_client():
    with ScriptedServer([answer(transfer_response())]) as server:
        with client_for(server) as bank:
            bank.transfer(1, 2, "1.00")
    assert server.received[0].headers["user-agent"].startswith("distbank-py/")


def test_the_retry_policy_is_data_with_the_typescript_numbers():
    from distbank import config

    policy = config.RETRY_POLICY
    assert (policy.retries, policy.first_pause_s, policy.pause_max_s, policy.jitter) == (3, 0.2, 2.0, 0.5)
    assert (config.RETRIES_DEFAULT, config.BACKOFF_S_DEFAULT, config.BACKOFF_S_MAX) == (3, 0.2, 2.0)
    assert [policy.pause_s(n, 0.2, 1.0) for n in (1, 2, 3, 4, 5)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0])
    assert policy.pause_s(1, 0.2, 0.0) == pytest.approx(0.1)  # jittered down to half at most


def test_the_default_client_makes_one_attempt_plus_the_policy_retries():
    from distbank import config

    with ScriptedServer([drop()] * 10) as server:
        with BankClient(server.url, "alice", "t", sleep=NO_SLEEP) as bank:
            with pytest.raises(BankConnectionError):
                bank.withdraw(1, "1.00")
    assert len(server.received) == 1 + config.RETRY_POLICY.retries


def test_a_read_that_gets_no_answer_does_not_suggest_a_request_id():
    with ScriptedServer([drop()] * 4) as server:
        with client_for(server, retries=1) as bank:
            with pytest.raises(BankConnectionError) as read:
                bank.balance(1)
            with pytest.raises(BankConnectionError) as move:
                bank.deposit(1, "1.00")
    assert "request_id" not in str(read.value)
    assert f"request_id={move.value.request_id!r}" in str(move.value)
