"""The command-line client: ``python3 -m distbank [options] <command> …``.

Exit codes tell outcomes apart (the table is also in client-py/README.md; tests keep them in
step): see EXIT_CODES and exit_code_for().
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from typing import Any, Dict, List, Optional, TextIO, Tuple

from . import __version__
from . import config as _config
from .errors import (
    ERRORS_BY_CODE,
    BankConnectionError,
    BankError,
    BankProtocolError,
    ConfigurationError,
    InvalidAmountError,
)

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_AUTHENTICATION = 3
EXIT_NOT_ALLOWED = 4
EXIT_INSUFFICIENT_FUNDS = 5
EXIT_INVALID_INPUT = 6
EXIT_RETRY_LATER = 7

#: Fault code -> exit code, for every code of the registry (a test checks completeness).
EXIT_CODES: Dict[str, int] = {
    "AUTHENTICATION_FAILED": EXIT_AUTHENTICATION,
    "NOT_AUTHORIZED": EXIT_NOT_ALLOWED,
    "ACCOUNT_NOT_FOUND": EXIT_NOT_ALLOWED,
    "INSUFFICIENT_FUNDS": EXIT_INSUFFICIENT_FUNDS,
    "INVALID_AMOUNT": EXIT_INVALID_INPUT,
    "SAME_ACCOUNT": EXIT_INVALID_INPUT,
    "INVALID_REQUEST": EXIT_INVALID_INPUT,
    "ACCOUNT_LOCKED": EXIT_RETRY_LATER,
    "RATE_LIMITED": EXIT_RETRY_LATER,
    "SERVICE_UNAVAILABLE": EXIT_RETRY_LATER,
    "LIMIT_EXCEEDED": EXIT_NOT_ALLOWED,
    # Data-tier codes never reach clients of a healthy service; internal errors are ours; a
    # reused request id is a bug in the caller's script (same table as the TypeScript CLI).
    "REQUEST_ID_CONFLICT": EXIT_OTHER,
    "LOCK_NOT_HELD": EXIT_OTHER,
    "LOCK_EXPIRED": EXIT_OTHER,
    "STALE_FENCING_TOKEN": EXIT_OTHER,
    "INTERNAL_ERROR": EXIT_OTHER,
}
assert set(EXIT_CODES) == set(ERRORS_BY_CODE), "every fault code needs an exit code"


#: The kinds of statement entries (bank.wsdl EntryKind).
ENTRY_KINDS = ("OPENING", "DEPOSIT", "WITHDRAWAL", "TRANSFER_OUT", "TRANSFER_IN")

#: Commands whose retry must reuse the request id (the others only read).
MONEY_MOVING_COMMANDS = frozenset(("open", "deposit", "withdraw", "transfer"))


def exit_code_for(error: BaseException) -> int:
    if isinstance(error, BankConnectionError):
        return EXIT_RETRY_LATER
    if isinstance(error, BankError):
        return EXIT_CODES.get(error.code or "", EXIT_OTHER)
    if isinstance(error, (ConfigurationError, ValueError, TypeError)):
        return EXIT_USAGE
    return EXIT_OTHER


EPILOG = """\
credentials: --url/--client-id/--token; else --credentials FILE (a demo-credentials.json
from `npm start`; its first client, or --as ID); else BANK_URL/BANK_CLIENT_ID/BANK_AUTH_TOKEN;
what is still missing comes from $BANK_DATA_DIR/demo-credentials.json or
./var/demo-credentials.json when one exists (--as alone picks a client of it); the URL
defaults to http://127.0.0.1:8080/bank, where npm start serves.
amounts are decimals like 10.00 (never floats); account ids are digits.

exit codes: 0 ok, 1 other error, 2 usage/configuration, 3 authentication failed,
4 not authorized or account not found, 5 insufficient funds, 6 invalid amount/request or
same account, 7 try again later (account locked, service unavailable, no connection;
re-run with the --request-id shown). The same table as the TypeScript `bank` CLI.
"""


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the command name. The copy attached
    to the subcommands has SUPPRESS defaults so it cannot overwrite a value given earlier."""
    d = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection and output")
    g.add_argument("--url", default=d(None), help=f"the bank endpoint (env BANK_URL; default: the credentials file's url, else {_config.URL_DEFAULT})")
    g.add_argument("--client-id", default=d(None), help="env BANK_CLIENT_ID")
    g.add_argument("--token", default=d(None), help="the client's auth token (env BANK_AUTH_TOKEN)")
    g.add_argument("--credentials", metavar="FILE", default=d(None), help="a demo-credentials.json (from npm start)")
    g.add_argument("--as", dest="as_client", metavar="CLIENT_ID", default=d(None), help="which client of --credentials")
    g.add_argument("--json", action="store_true", default=d(False), help="print JSON instead of text")
    g.add_argument("--request-id", default=d(None), help="idempotency key; re-run with the same one to retry safely")
    g.add_argument("--timeout", type=float, metavar="SECONDS", default=d(_config.TIMEOUT_S_DEFAULT), help=f"seconds per attempt (default {_config.TIMEOUT_S_DEFAULT})")
    g.add_argument("--retries", type=int, default=d(_config.RETRIES_DEFAULT), help=f"extra attempts after a transient failure (default {_config.RETRIES_DEFAULT})")
    g.add_argument("--wsdl", metavar="LOCATION", default=d(None), help="WSDL file or URL (default: the packaged copy)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m distbank",
        description="Call the distbank bank service.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"distbank {__version__}")
    common = _global_options(defaults=False)
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.required = True

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = command("open", "open an account for this client")
    p.add_argument("--initial", metavar="AMOUNT", help="initial deposit, e.g. 100.00")
    p = command("balance", "show the balance of one of your accounts")
    p.add_argument("account")
    for name, help_text in (("deposit", "deposit into an account (any account)"), ("withdraw", "withdraw from one of your accounts")):
        p = command(name, help_text)
        p.add_argument("account")
        p.add_argument("amount")
    p = command("transfer", "transfer from one of your accounts to any account")
    p.add_argument("from_account", metavar="FROM")
    p.add_argument("to_account", metavar="TO")
    p.add_argument("amount")
    p = command("statement", "show the balance and the newest entries of one of your accounts")
    p.add_argument("account")
    p.add_argument("--limit", type=int, help="how many entries (service default 100, at most 1000)")
    p.add_argument("--kind", nargs="+", choices=ENTRY_KINDS, help="only entries of these kinds (e.g. WITHDRAWAL TRANSFER_OUT)")
    p.add_argument("--before", metavar="ENTRY_ID", help="only entries older than this entry id (the next page)")
    return parser


def _connection(args: argparse.Namespace) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(url, client_id, token). Precedence: flags; then a --credentials file (it beats the
    environment); then the environment; then, only to fill what is still missing, the demo
    credentials `npm start` wrote ($BANK_DATA_DIR or ./var) — the TypeScript CLI's rules. With no
    URL from any of these: URL_DEFAULT, where `npm start` serves (as the TypeScript CLI)."""
    url, client_id, token = args.url, args.client_id, args.token
    path = args.credentials
    if not path and args.as_client:  # --as alone names a client of the demo credentials
        path = _config.default_credentials_path()
        if not path:
            raise ConfigurationError(f"--as {args.as_client} needs --credentials FILE (no ./var/demo-credentials.json)")
    if path:
        demo = _config.load_demo_credentials(path, args.as_client or client_id)
        return url or demo.url or _config.URL_DEFAULT, client_id or demo.client_id, token or demo.auth_token
    env_url, env_client_id, env_token = _config.env_connection()
    url, client_id, token = url or env_url, client_id or env_client_id, token or env_token
    fallback = _config.default_credentials_path()
    if fallback and not (url and client_id and token):
        try:
            demo = _config.load_demo_credentials(fallback, client_id)
        except ConfigurationError:
            return url or _config.URL_DEFAULT, client_id, token  # BankClient names what is missing
        url = url or demo.url
        if not client_id:
            client_id = demo.client_id
        token = token or demo.auth_token
    return url or _config.URL_DEFAULT, client_id, token


def _make_client(args: argparse.Namespace) -> Any:
    from .client import BankClient  # imports zeep: only once the arguments are known good

    url, client_id, token = _connection(args)
    return BankClient(url, client_id, token, wsdl=args.wsdl, timeout_s=args.timeout, retries=args.retries)


#: What both CLIs take as an amount: plain decimal notation (the TypeScript CLI's cliAmount).
_PLAIN_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?\Z")
_AMOUNT_SHOWN_CHARS_MAX = 40


def _amount(text: str, zero_ok: bool = False) -> Decimal:
    """An amount from the command line, checked before anything is sent by the TypeScript
    CLI's rule: plain decimal notation (not +5, .5, 5., 1e3) and > 0 (>= 0 for an opening
    deposit). Precision and the maximum stay the service's rule."""
    if not _PLAIN_AMOUNT.match(text):
        shown = text[:_AMOUNT_SHOWN_CHARS_MAX]
        raise InvalidAmountError("INVALID_AMOUNT", f"amount {shown} is not a plain decimal number like 10.00 (nothing was sent)")
    value = Decimal(text)
    if value < 0 or (value == 0 and not zero_ok):
        bound = "0 or more" if zero_ok else "more than 0"
        raise InvalidAmountError("INVALID_AMOUNT", f"amount {text} must be {bound} (nothing was sent)")
    return value


def _check_amounts(args: argparse.Namespace) -> None:
    if args.command in ("deposit", "withdraw", "transfer"):
        _amount(args.amount)
    elif args.command == "open" and args.initial is not None:
        _amount(args.initial, zero_ok=True)


def _run(args: argparse.Namespace, bank: Any) -> Any:
    rid = args.request_id
    if args.command == "open":
        return bank.open_account(args.initial, request_id=rid)
    if args.command == "balance":
        return bank.balance(args.account)
    if args.command == "deposit":
        return bank.deposit(args.account, args.amount, request_id=rid)
    if args.command == "withdraw":
        return bank.withdraw(args.account, args.amount, request_id=rid)
    if args.command == "transfer":
        return bank.transfer(args.from_account, args.to_account, args.amount, request_id=rid)
    if args.command == "statement":
        return bank.statement(args.account, args.limit, kinds=args.kind, before_entry_id=args.before)
    raise AssertionError(f"unhandled command {args.command}")


def _describe(args: argparse.Namespace, result: Any) -> str:
    from .money import format_money as m

    c = args.command
    if c == "open":
        return f"Opened account {result.account_id}, balance {m(result.balance)}."
    if c == "balance":
        return f"Account {result.account_id}: balance {m(result.balance)}"
    if c in ("deposit", "withdraw"):
        verb, prep = ("Deposited", "into") if c == "deposit" else ("Withdrew", "from")
        text = f"{verb} {m(_amount(args.amount))} {prep} account {result.account_id} (transaction {result.transaction_id})."
        if result.balance is not None:
            text += f" Balance: {m(result.balance)}"
        return text
    if c == "transfer":
        return (
            f"Transferred {m(_amount(args.amount))} from account {result.from_account_id} to account {args.to_account} "
            f"(transaction {result.transaction_id}). Balance of {result.from_account_id}: {m(result.balance)}"
        )
    if c == "statement":
        lines = [f"Account {result.account_id}: balance {m(result.balance)}, {len(result.entries)} entries (newest first)"]
        for e in result.entries:
            other = f"  {'to' if e.kind == 'TRANSFER_OUT' else 'from'} {e.counterparty_account_id}" if e.counterparty_account_id else ""
            lines.append(
                f"  {e.at.isoformat()}  {e.kind:<12} {format(e.amount, 'f'):>14}  balance {m(e.balance_after):>14}  {e.transaction_id}{other}"
                f"  entry {e.entry_id}"
            )
        return "\n".join(lines)
    raise AssertionError(f"unhandled command {c}")


_JSON_CODE_WITHOUT_FAULT = {BankConnectionError: "CONNECTION_FAILED", BankProtocolError: "PROTOCOL_ERROR"}


def _report_error(args: Optional[argparse.Namespace], error: BaseException, out: TextIO, err: TextIO) -> int:
    code = exit_code_for(error)
    if args is not None and args.json:
        payload = error.to_dict() if isinstance(error, BankError) else {"code": None, "message": str(error), "retryable": False}
        if payload["code"] is None:  # the TypeScript CLI's names for failures without a fault
            payload["code"] = _JSON_CODE_WITHOUT_FAULT.get(type(error), "USAGE" if isinstance(error, ValueError) else "ERROR")
        json.dump({"error": payload}, out)
        out.write("\n")
        return code
    err.write(f"error: {error}\n")
    if isinstance(error, BankConnectionError):
        err.write("hint: is the bank running? Start it with npm start\n")
    moves_money = args is not None and args.command in MONEY_MOVING_COMMANDS
    if moves_money and isinstance(error, BankError) and error.retryable and error.request_id:
        err.write(f"hint: it is safe to try again with --request-id {error.request_id}\n")
    return code


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)  # exits 2 on usage errors
    try:
        _check_amounts(args)
        with _make_client(args) as bank:
            result = _run(args, bank)
    except (BankError, ValueError) as error:  # ConfigurationError is a ValueError
        return _report_error(args, error, out, err)
    if args.json:
        json.dump(result.to_dict(), out)
        out.write("\n")
    else:
        out.write(_describe(args, result) + "\n")
    return EXIT_OK


def console_main() -> None:
    """Entry point of the `distbank` script that pip installs."""
    sys.exit(main())
