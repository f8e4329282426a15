"""The package ships a copy of the contract and declares its one dependency."""

import filecmp
import os
import re

import pytest

from conftest import CLIENT_PY_DIR, REPO_DIR

REPO_WSDL = os.path.join(REPO_DIR, "wsdl", "bank.wsdl")
PACKAGED_WSDL = os.path.join(CLIENT_PY_DIR, "distbank", "wsdl", "bank.wsdl")


def test_the_packaged_wsdl_is_a_copy_of_the_repository_one():
    if not os.path.exists(REPO_WSDL):
        pytest.skip("not in the distbank repository")
    assert filecmp.cmp(REPO_WSDL, PACKAGED_WSDL, shallow=False), (
        "client-py/distbank/wsdl/bank.wsdl differs from wsdl/bank.wsdl: "
        "cp wsdl/bank.wsdl client-py/distbank/wsdl/bank.wsdl"
    )


def test_pyproject_declares_zeep_python_and_the_wsdl_as_package_data():
    with open(os.path.join(CLIENT_PY_DIR, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    assert re.search(r'dependencies\s*=\s*\[[^\]]*"zeep', text)
    assert 'requires-python = ">=3.9"' in text
    assert "wsdl/*.wsdl" in text


def test_importing_the_errors_does_not_import_zeep():
    import subprocess
    import sys

    code = "import sys, distbank, distbank.errors; print('zeep' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=CLIENT_PY_DIR, capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
