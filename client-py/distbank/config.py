"""Where the client's settings come from: arguments first, then the environment
(BANK_URL, BANK_CLIENT_ID, BANK_AUTH_TOKEN), then (CLI) a demo-credentials.json file.
This is the only module that reads os.environ. Every limit of the client is declared here."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError

# ----- limits (one place) -----
#: Default per-attempt timeout (connect and each read), also for loading a remote WSDL.
TIMEOUT_S_DEFAULT = 10.0
TIMEOUT_S_MAX = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """When and how often a call is sent again (a timeout, a dropped connection, HTTP 502/503/504,
    a retryable fault): ``retries`` more attempts at most; the pause before retry n is
    ``first_pause_s * 2**(n-1)``, capped at ``pause_max_s``, then jittered down by up to
    ``jitter`` of it (0.5: to as little as half) so that clients that failed together do not
    come back together. The TypeScript client declares the same numbers (client-ts/bank-client.ts
    RETRY_POLICY; the repository's test/cli-parity.test.ts compares them)."""

    retries: int
    first_pause_s: float
    pause_max_s: float
    jitter: float

    def pause_s(self, attempt: int, first_pause_s: float, random_unit: float) -> float:
        """The pause before retry ``attempt`` (1 = the first), ``random_unit`` in [0, 1)."""
        ceiling = min(self.pause_max_s, first_pause_s * (2.0 ** (attempt - 1)))
        return ceiling * (1 - self.jitter + self.jitter * random_unit)


RETRY_POLICY = RetryPolicy(retries=3, first_pause_s=0.2, pause_max_s=2.0, jitter=0.5)
#: Default number of retries after the first attempt (so at most 4 attempts).
RETRIES_DEFAULT = RETRY_POLICY.retries
RETRIES_MAX = 10
#: First pause before a retry (``backoff_s``); at most the policy's cap.
BACKOFF_S_DEFAULT = RETRY_POLICY.first_pause_s
BACKOFF_S_MAX = RETRY_POLICY.pause_max_s
#: A RATE_LIMITED fault's retryAfterMs: the next attempt waits at least that long; a longer
#: wait than this is not slept through (the error goes to the caller).
RETRY_AFTER_S_MAX = 10.0
#: The contract's request-id pattern (bank.wsdl): the idempotency key.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]{1,64}\Z")
#: Largest answer the client reads (a 1000-entry statement is ~0.3 MB).
RESPONSE_BYTES_MAX = 4 * 1_048_576
#: A demo-credentials.json larger than this is not one.
CREDENTIALS_FILE_BYTES_MAX = 1_048_576

ENV_URL = "BANK_URL"
ENV_CLIENT_ID = "BANK_CLIENT_ID"
ENV_AUTH_TOKEN = "BANK_AUTH_TOKEN"
ENV_DATA_DIR = "BANK_DATA_DIR"
DEMO_CREDENTIALS_FILE = "demo-credentials.json"

#: The path of the bank service when a URL names only the host (http://host:8080).
SERVICE_PATH = "/bank"
#: The CLI's URL when neither --url, BANK_URL nor a credentials file names one: where
#: `npm start` puts the load balancer (the TypeScript CLI's URL_DEFAULT).
URL_DEFAULT = "http://127.0.0.1:8080/bank"


@dataclass(frozen=True)
class ClientConfig:
    url: str
    client_id: str
    auth_token: str = field(repr=False)  # a secret: never in a repr, a log line or a message
    timeout_s: float
    retries: int
    backoff_s: float


def normalise_url(url: str) -> str:
    """Accept http://host:port as shorthand for http://host:port/bank."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"bank URL must be http(s)://host:port/bank, got {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=SERVICE_PATH)
    return urlunsplit(parts)


def resolve_config(
    url: Optional[str],
    client_id: Optional[str],
    auth_token: Optional[str],
    timeout_s: float,
    retries: int,
    backoff_s: float = BACKOFF_S_DEFAULT,
    env: Optional[Mapping[str, str]] = None,
) -> ClientConfig:
    """Arguments win over the environment; a missing value is a ConfigurationError naming
    both the argument and the variable."""
    environ = os.environ if env is None else env
    url = url or environ.get(ENV_URL)
    client_id = client_id or environ.get(ENV_CLIENT_ID)
    auth_token = auth_token or environ.get(ENV_AUTH_TOKEN)
    missing = [
        f"{arg} (or {var})"
        for arg, var, value in (
            ("url", ENV_URL, url),
            ("client_id", ENV_CLIENT_ID, client_id),
            ("auth_token", ENV_AUTH_TOKEN, auth_token),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError("missing " + ", ".join(missing))
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s <= TIMEOUT_S_MAX:
        raise ConfigurationError(f"timeout_s must be in (0, {TIMEOUT_S_MAX}], got {timeout_s!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= RETRIES_MAX:
        raise ConfigurationError(f"retries must be an int in [0, {RETRIES_MAX}], got {retries!r}")
    if isinstance(backoff_s, bool) or not isinstance(backoff_s, (int, float)) or not 0 <= backoff_s <= BACKOFF_S_MAX:
        raise ConfigurationError(f"backoff_s must be in [0, {BACKOFF_S_MAX}], got {backoff_s!r}")
    assert url and client_id and auth_token
    return ClientConfig(normalise_url(url), client_id, auth_token, float(timeout_s), retries, float(backoff_s))


def check_request_id(request_id: str) -> str:
    if not isinstance(request_id, str) or not REQUEST_ID_PATTERN.match(request_id):
        raise ValueError(f"request_id must match [A-Za-z0-9_.:-]{{1,64}}, got {request_id!r}")
    return request_id


@dataclass(frozen=True)
class DemoClient:
    url: Optional[str]
    client_id: str
    auth_token: str = field(repr=False)
    accounts: Tuple[str, ...]


def load_demo_credentials(path: str, client_id: Optional[str] = None) -> DemoClient:
    """One client of a demo-credentials.json (written by `npm start`):
    ``{"url": …, "clients": [{"clientId", "authToken", "accounts": [...]}, …]}``.
    The first client, or the one named ``client_id``."""
    try:
        with open(path, "rb") as f:
            raw = f.read(CREDENTIALS_FILE_BYTES_MAX + 1)
    except OSError as exc:
        raise ConfigurationError(f"cannot read credentials file {path}: {exc.strerror}") from None
    if len(raw) > CREDENTIALS_FILE_BYTES_MAX:
        raise ConfigurationError(f"credentials file {path} is larger than {CREDENTIALS_FILE_BYTES_MAX} bytes")
    try:
        doc: Any = json.loads(raw)
        clients = doc["clients"]
        assert isinstance(clients, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ConfigurationError(f"{path} is not a demo-credentials file (no \"clients\" list)") from None
    chosen = None
    for entry in clients:
        if isinstance(entry, dict) and (client_id is None or entry.get("clientId") == client_id):
            chosen = entry
            break
    if chosen is None:
        raise ConfigurationError(f"no client {client_id!r} in {path}" if client_id else f"no clients in {path}")
    cid, token = chosen.get("clientId"), chosen.get("authToken")
    if not isinstance(cid, str) or not isinstance(token, str):
        raise ConfigurationError(f"{path}: a client lacks clientId or authToken")
    url = doc.get("url") if isinstance(doc.get("url"), str) else None
    accounts = tuple(str(a) for a in chosen.get("accounts") or ())
    return DemoClient(url, cid, token, accounts)


def env_connection(env: Optional[Mapping[str, str]] = None) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(url, client_id, auth_token) from the environment, None where unset."""
    environ = os.environ if env is None else env
    return environ.get(ENV_URL) or None, environ.get(ENV_CLIENT_ID) or None, environ.get(ENV_AUTH_TOKEN) or None


def default_credentials_path(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Where `npm start` left its demo credentials: $BANK_DATA_DIR/demo-credentials.json, else
    ./var/demo-credentials.json; None when neither exists. (The TypeScript CLI looks in the
    same places.)"""
    environ = os.environ if env is None else env
    candidates = []
    if environ.get(ENV_DATA_DIR):
        candidates.append(os.path.join(environ[ENV_DATA_DIR], DEMO_CREDENTIALS_FILE))
    candidates.append(os.path.join("var", DEMO_CREDENTIALS_FILE))
    for path in candidates:
        if os.path.isfile(path):
            return path
    return None
