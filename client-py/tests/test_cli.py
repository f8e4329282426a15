"""The CLI: arguments, output, and exit codes per fault, against the scripted local server."""

import io
import json
import os
import re
import subprocess
import sys

import pytest

from distbank import cli
from distbank.errors import ERRORS_BY_CODE, BankConnectionError, BankProtocolError, ConfigurationError, error_for_code
from scripted_server import NS, ScriptedServer, answer, bank_fault, drop, envelope, transfer_response

from conftest import CLIENT_PY_DIR


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def no_bank_env(monkeypatch, tmp_path):
    for name in ("BANK_URL", "BANK_CLIENT_ID", "BANK_AUTH_TOKEN", "BANK_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./var/demo-credentials.json to fall back on


def creds(server):
    return ["--url", server.url, "--client-id", "alice", "--token", "t0k"]


def test_transfer_prints_a_readable_line_and_exits_0():
    with ScriptedServer([answer(transfer_response("t5", "1001", "90.00"))]) as server:
        code, out, err = run(creds(server) + ["transfer", "1001", "1002", "10.00"])
    assert code == 0, err
    assert out == "Transferred 10.00 from account 1001 to account 1002 (transaction t5). Balance of 1001: 90.00\n"


def test_json_output_uses_wire_names_and_decimal_strings():
    with ScriptedServer([answer(transfer_response("t5", "1001", "90"))]) as server:
        code, out, _ = run(["transfer", "1001", "1002", "10.00", "--json"] + creds(server))
    assert code == 0
    doc = json.loads(out)
    assert doc["transactionId"] == "t5" and doc["fromAccountId"] == "1001" and doc["balance"] == "90.00"
    assert re.fullmatch(r"[0-9a-f]{32}", doc["requestId"])


def test_global_options_work_before_and_after_the_command():
    with ScriptedServer([answer(transfer_response()), answer(transfer_response())]) as server:
        before = run(["--request-id", "k-1"] + creds(server) + ["transfer", "1", "2", "1.00"])
        after = run(["transfer", "1", "2", "1.00", "--request-id", "k-2"] + creds(server))
    assert before[0] == after[0] == 0
    assert [r.soap_request_id for r in server.received] == ["k-1", "k-2"]


@pytest.mark.parametrize(
    "code, exit_code",
    [
        ("AUTHENTICATION_FAILED", 3),
        ("NOT_AUTHORIZED", 4),
        ("ACCOUNT_NOT_FOUND", 4),
        ("INSUFFICIENT_FUNDS", 5),
        ("INVALID_AMOUNT", 6),
        ("SAME_ACCOUNT", 6),
        ("INVALID_REQUEST", 6),
        ("REQUEST_ID_CONFLICT", 1),
        ("INTERNAL_ERROR", 1),
    ],
)
def test_faults_have_their_exit_codes(code, exit_code):
    with ScriptedServer([answer(bank_fault(code, "says the server", False, "1001"), 500)]) as server:
        status, out, err = run(creds(server) + ["withdraw", "1001", "5.00"])
    assert status == exit_code
    assert out == ""
    assert err.startswith(f"error: {code}: says the server (account 1001)")


def test_a_retryable_fault_after_the_retries_exits_7_with_a_hint():
    fault = bank_fault("ACCOUNT_LOCKED", "busy", True, "1001", "soap:Server")
    with ScriptedServer([answer(fault, 500)] * 2) as server:
        status, _, err = run(creds(server) + ["--retries", "1", "withdraw", "1001", "5.00", "--request-id", "w-1"])
    assert status == 7
    assert "--request-id w-1" in err
    assert len(server.received) == 2


def test_json_errors_without_a_fault_code_use_the_typescript_cli_names():
    with ScriptedServer([drop()]) as server:
        status, out, _ = run(creds(server) + ["--json", "--retries", "0", "balance", "1"])
    assert status == 7 and json.loads(out)["error"]["code"] == "CONNECTION_FAILED"
    with ScriptedServer([answer("nope", 404, "text/plain")]) as server:
        status, out, _ = run(creds(server) + ["--json", "balance", "1"])
    assert status == 1 and json.loads(out)["error"]["code"] == "PROTOCOL_ERROR"
    status, out, _ = run(["--json", "balance", "1"])
    assert status == 2 and json.loads(out)["error"]["code"] == "USAGE"


def test_the_demo_credentials_fill_only_what_is_missing(tmp_path, monkeypatch):
    body = envelope(f'<GetBalanceResponse xmlns="{NS}"><accountId>1</accountId><balance>5</balance></GetBalanceResponse>')
    with ScriptedServer([answer(body)] * 3) as server:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        (data_dir / "demo-credentials.json").write_text(json.dumps({"url": server.url, "clients": [
            {"clientId": "alice", "authToken": "ta", "accounts": ["1"]},
            {"clientId": "bob", "authToken": "tb", "accounts": ["2"]},
        ]}))
        monkeypatch.setenv("BANK_DATA_DIR", str(data_dir))
        assert run(["balance", "1"])[0] == 0  # everything from the file: its first client
        monkeypatch.setenv("BANK_CLIENT_ID", "bob")
        assert run(["balance", "1"])[0] == 0  # the env names the client, the file has its token
        monkeypatch.setenv("BANK_AUTH_TOKEN", "env-token")
        assert run(["balance", "1"])[0] == 0  # the env's token wins over the file's
    sent = [(">alice</" in r.body, ">bob</" in r.body, r.body.count(">t")) for r in server.received]
    assert ">ta</" in server.received[0].body and ">alice</" in server.received[0].body
    assert ">tb</" in server.received[1].body and ">bob</" in server.received[1].body
    assert ">env-token</" in server.received[2].body and ">bob</" in server.received[2].body, sent


def test_json_errors_go_to_stdout():
    with ScriptedServer([answer(bank_fault("INSUFFICIENT_FUNDS", "too low", False, "1001"), 500)]) as server:
        status, out, err = run(creds(server) + ["--json", "withdraw", "1001", "5.00"])
    assert status == 5 and err == ""
    error = json.loads(out)["error"]
    assert error["code"] == "INSUFFICIENT_FUNDS" and error["accountId"] == "1001" and error["retryable"] is False


def test_no_connection_exits_7():
    with ScriptedServer([drop(), drop()]) as server:
        status, _, err = run(creds(server) + ["--retries", "1", "balance", "1001"])
    assert status == 7 and "no answer" in err


def test_missing_credentials_exit_2_and_name_the_variables():
    status, _, err = run(["balance", "1"])
    assert status == 2
    assert "BANK_CLIENT_ID" in err and "BANK_AUTH_TOKEN" in err


def test_a_float_like_but_malformed_amount_exits_6_without_calling():
    with ScriptedServer([]) as server:
        status, _, err = run(creds(server) + ["deposit", "1", "1e3"])
    assert status == 6 and "INVALID_AMOUNT" in err
    assert server.received == []


def test_credentials_file_first_client_or_as(tmp_path):
    path = tmp_path / "demo-credentials.json"
    with ScriptedServer([answer(envelope(f'<GetBalanceResponse xmlns="{NS}"><accountId>1</accountId><balance>5</balance></GetBalanceResponse>'))] * 2) as server:
        path.write_text(json.dumps({"url": server.url, "clients": [
            {"clientId": "alice", "authToken": "ta", "accounts": ["1"]},
            {"clientId": "bob", "authToken": "tb", "accounts": [2]},
        ]}))
        first = run(["--credentials", str(path), "balance", "1"])
        second = run(["--credentials", str(path), "--as", "bob", "balance", "1"])
    assert first[0] == 0 and first[1] == "Account 1: balance 5.00\n"
    assert second[0] == 0
    assert ">alice</" in server.received[0].body and ">ta</" in server.received[0].body
    assert ">bob</" in server.received[1].body and ">tb</" in server.received[1].body
    status, _, err = run(["--credentials", str(path), "--as", "carol", "balance", "1"])
    assert status == 2 and "carol" in err
    status, _, err = run(["--credentials", str(tmp_path / "missing.json"), "balance", "1"])
    assert status == 2


def test_statement_output():
    body = envelope(
        f'<GetStatementResponse xmlns="{NS}"><accountId>1</accountId><balance>90.00</balance>'
        "<entry><transactionId>t2</transactionId><kind>TRANSFER_OUT</kind><amount>-10.00</amount>"
        "<balanceAfter>90.00</balanceAfter><counterpartyAccountId>2</counterpartyAccountId><at>2026-11-26T15:00:00Z</at><entryId>41</entryId></entry>"
        "</GetStatementResponse>"
    )
    with ScriptedServer([answer(body)]) as server:
        status, out, _ = run(creds(server) + ["statement", "1", "--limit", "5", "--kind", "WITHDRAWAL", "TRANSFER_OUT", "--before", "99"])
    assert status == 0
    assert out.splitlines()[0] == "Account 1: balance 90.00, 1 entries (newest first)"
    assert "TRANSFER_OUT" in out and "-10.00" in out and "to 2" in out and "entry 41" in out
    sent = server.received[0].body
    assert sent.count("WITHDRAWAL</") == 1 and sent.count("TRANSFER_OUT</") == 1 and ">99</" in sent


@pytest.mark.parametrize(
    "argv",
    [[], ["transfer", "1", "2"], ["balance"], ["frobnicate"], ["statement", "1", "--limit", "x"], ["--timeout", "soon", "balance", "1"]],
)
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        run(argv)
    assert info.value.code == 2


def test_every_fault_code_has_an_exit_code_and_the_readme_lists_them():
    assert set(cli.EXIT_CODES) == set(ERRORS_BY_CODE)
    assert cli.exit_code_for(BankConnectionError("x")) == 7
    assert cli.exit_code_for(BankProtocolError("x")) == 1
    assert cli.exit_code_for(ConfigurationError("x")) == 2
    with open(os.path.join(CLIENT_PY_DIR, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for code, exit_code in cli.EXIT_CODES.items():
        row = re.search(rf"^\|\s*{exit_code}\s*\|.*\b{code}\b", readme, re.M)
        assert row, f"README.md's exit-code table lacks {code} under {exit_code}"
        assert cli.exit_code_for(error_for_code(code, "m")) == exit_code


def test_python_m_distbank_runs():
    env = dict(os.environ, PYTHONPATH=CLIENT_PY_DIR)
    done = subprocess.run([sys.executable, "-m", "distbank", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "transfer" in done.stdout and "exit codes" in done.stdout
    done = subprocess.run([sys.executable, "-m", "distbank", "bogus"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2


@pytest.mark.parametrize(
    "argv",
    [["transfer", "1", "2", "-1"], ["transfer", "1", "2", "0"], ["deposit", "1", "-0.50"], ["withdraw", "1", "0.00"], ["open", "--initial", "-1"]],
)
def test_an_amount_that_is_not_positive_exits_6_without_calling(argv):
    # As the TypeScript CLI: nothing is sent for an amount the service would refuse.
    with ScriptedServer([]) as server:
        status, _, err = run(creds(server) + argv)
    assert status == 6 and "INVALID_AMOUNT" in err, err
    assert server.received == []


def test_amounts_are_echoed_with_two_decimals():
    with ScriptedServer([answer(transfer_response("t6", "1001", "89.50"))]) as server:
        code, out, err = run(creds(server) + ["transfer", "1001", "1002", "10.5"])
    assert code == 0, err
    assert out.startswith("Transferred 10.50 from account 1001"), out


def test_no_connection_suggests_npm_start_and_a_request_id_only_when_money_moves():
    with ScriptedServer([drop(), drop()]) as server:
        _, _, read_err = run(creds(server) + ["--retries", "1", "balance", "1001"])
    with ScriptedServer([drop(), drop()]) as server:
        _, _, move_err = run(creds(server) + ["--retries", "1", "deposit", "1001", "1.00", "--request-id", "d-1"])
    assert "npm start" in read_err and "npm start" in move_err
    assert "hint: it is safe to try again" not in read_err and "request_id" not in read_err
    assert "--request-id d-1" in move_err


def test_the_url_defaults_to_where_npm_start_serves(monkeypatch):
    from distbank import config

    monkeypatch.setenv("BANK_CLIENT_ID", "alice")
    monkeypatch.setenv("BANK_AUTH_TOKEN", "t")
    args = cli.build_parser().parse_args(["balance", "1"])
    assert cli._connection(args) == (config.URL_DEFAULT, "alice", "t")
    assert config.URL_DEFAULT == "http://127.0.0.1:8080/bank"  # the TypeScript CLI's URL_DEFAULT


def test_as_alone_picks_a_client_of_the_demo_credentials_in_var(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo-credentials.json").write_text(json.dumps({"url": "http://127.0.0.1:9/bank", "clients": [
        {"clientId": "alice", "authToken": "ta"}, {"clientId": "bob", "authToken": "tb"}]}))
    args = cli.build_parser().parse_args(["--as", "bob", "balance", "2"])
    assert cli._connection(args) == ("http://127.0.0.1:9/bank", "bob", "tb")


def test_as_without_any_credentials_file_is_a_usage_error():
    status, _, err = run(["--as", "bob", "balance", "2"])
    assert status == 2 and "--credentials" in err


@pytest.mark.parametrize("amount", ["+5", ".5", "5.", "1e3", "ten"])
def test_an_amount_not_in_plain_decimal_notation_exits_6_without_calling(amount):
    # The TypeScript CLI's rule (cliAmount): what the client writes is what the user typed.
    with ScriptedServer([]) as server:
        status, _, err = run(creds(server) + ["deposit", "1", amount])
    assert status == 6 and server.received == []
    assert err.startswith(f"error: INVALID_AMOUNT: amount {amount} is not a plain decimal number like 10.00 (nothing was sent)")


def test_an_opening_deposit_of_zero_is_sent_and_a_negative_one_is_not():
    body = envelope(f'<OpenAccountResponse xmlns="{NS}"><accountId>7</accountId><balance>0.00</balance></OpenAccountResponse>')
    with ScriptedServer([answer(body)]) as server:
        assert run(creds(server) + ["open", "--initial", "0"])[0] == 0
        status, _, err = run(creds(server) + ["open", "--initial", "-1"])
    assert len(server.received) == 1
    assert status == 6 and err.startswith("error: INVALID_AMOUNT: amount -1 must be 0 or more (nothing was sent)")


def test_the_account_is_named_once_in_the_error_line():
    fault = bank_fault("ACCOUNT_NOT_FOUND", "account 999 does not exist", False, "999")
    with ScriptedServer([answer(fault, 500)]) as server:
        status, _, err = run(creds(server) + ["deposit", "999", "1.00"])
    assert status == 4 and err.splitlines()[0] == "error: ACCOUNT_NOT_FOUND: account 999 does not exist"


def test_a_retryable_fault_on_a_read_gives_no_request_id_hint():
    fault = bank_fault("ACCOUNT_LOCKED", "busy", True, "1001", "soap:Server")
    with ScriptedServer([answer(fault, 500)]) as server:
        status, _, err = run(creds(server) + ["--retries", "0", "balance", "1001"])
    assert status == 7 and "request-id" not in err and "request_id" not in err
