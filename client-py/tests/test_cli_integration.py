"""`python3 -m distbank` end to end against a real cluster: output and exit codes.
Skipped unless BANK_URL and DISTBANK_DEMO_CREDENTIALS are set."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import CLIENT_PY_DIR

RUN_TIMEOUT_S = 60


@pytest.fixture
def cli(cluster):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_")}
    env["PYTHONPATH"] = CLIENT_PY_DIR
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    def run(*args, as_client="alice-or-first"):
        who = [] if as_client == "alice-or-first" else ["--as", as_client]
        argv = [sys.executable, "-m", "distbank", "--credentials", cluster["credentials_path"], "--url", cluster["url"], *who, *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S)

    return run


def test_cli_story_and_exit_codes(cluster, cli):
    second = cluster["clients"][1]["clientId"]
    opened = cli("--json", "open", "--initial", "50.00")
    assert opened.returncode == 0, opened.stderr
    mine = json.loads(opened.stdout)["accountId"]
    theirs_run = cli("--json", "open", as_client=second)
    assert theirs_run.returncode == 0, theirs_run.stderr
    theirs = json.loads(theirs_run.stdout)["accountId"]

    done = cli("transfer", mine, theirs, "10.00")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Transferred 10.00 from account {mine} to account {theirs} (transaction t")
    assert done.stdout.rstrip().endswith(f"Balance of {mine}: 40.00")

    balance = cli("--json", "balance", mine)
    assert balance.returncode == 0 and json.loads(balance.stdout) == {"accountId": mine, "balance": "40.00"}

    assert cli("withdraw", mine, "40.01").returncode == 5
    assert cli("balance", theirs).returncode == 4
    assert cli("balance", "999999999999").returncode == 4
    for amount in ("0", "-1", "0.001"):
        failed = cli("deposit", mine, amount)
        assert failed.returncode == 6 and "INVALID_AMOUNT" in failed.stderr, failed.stderr
    assert cli("transfer", mine, mine, "1.00").returncode == 6
    bad = cli("--token", "not-the-token", "balance", mine)
    assert bad.returncode == 3 and "AUTHENTICATION_FAILED" in bad.stderr

    statement = cli("--json", "statement", mine, "--limit", "10")
    assert statement.returncode == 0
    kinds = [e["kind"] for e in json.loads(statement.stdout)["entries"]]
    assert kinds == ["TRANSFER_OUT", "OPENING"]


def test_cli_same_request_id_moves_money_once(cli):
    opened = cli("--json", "open", "--initial", "20.00")
    mine = json.loads(opened.stdout)["accountId"]
    rid = "cli-" + uuid.uuid4().hex
    first = cli("--json", "--request-id", rid, "withdraw", mine, "5.00")
    again = cli("--json", "--request-id", rid, "withdraw", mine, "5.00")
    assert first.returncode == again.returncode == 0, again.stderr
    assert json.loads(first.stdout)["transactionId"] == json.loads(again.stdout)["transactionId"]
    assert json.loads(cli("--json", "balance", mine).stdout)["balance"] == "15.00"
    conflict = cli("--request-id", rid, "withdraw", mine, "6.00")
    assert conflict.returncode == 1 and "REQUEST_ID_CONFLICT" in conflict.stderr
