"""pytest setup: make the package importable without installing it (tests run as
`python3 -m pytest client-py/tests` from the repo root or `pytest tests` from client-py/), and
share the integration fixtures (skipped unless BANK_URL and DISTBANK_DEMO_CREDENTIALS are set).
"""

import json
import os
import sys

import pytest

CLIENT_PY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(CLIENT_PY_DIR)
if CLIENT_PY_DIR not in sys.path:
    sys.path.insert(0, CLIENT_PY_DIR)


@pytest.fixture(scope="session")
def cluster():
    """The running cluster: {"url", "credentials_path", "clients": [{clientId, authToken, accounts}]}."""
    url = os.environ.get("BANK_URL")
    path = os.environ.get("DISTBANK_DEMO_CREDENTIALS")
    if not url or not path:
        pytest.skip("integration: set BANK_URL and DISTBANK_DEMO_CREDENTIALS (a running cluster)")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    clients = doc["clients"]
    assert len(clients) >= 2, f"the demo credentials need two clients, {path} has {len(clients)}"
    return {"url": url, "credentials_path": path, "clients": clients}
