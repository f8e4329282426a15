"""`pip install ./client-py` works offline on top of Debian's python3-zeep (a venv with the
system site-packages, no build isolation, no index, no pip configuration) and ships the WSDL and
the CLI. The build uses the system's setuptools (>= 61, pyproject.toml's build backend) and, as
setuptools < 70.1 builds wheels with it, wheel (Debian: python3-setuptools, python3-wheel)."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import CLIENT_PY_DIR

INSTALL_TIMEOUT_S = 120


def _venv_available():
    try:
        import ensurepip  # noqa: F401  (Debian splits it into python3-venv)
        import venv  # noqa: F401
    except ImportError:
        return False
    return True


def test_pip_install_into_a_venv(tmp_path):
    if not _venv_available():
        if os.environ.get("CI"):
            pytest.fail("python3-venv is missing (apt-get install python3-venv)")
        pytest.skip("python3-venv is not installed")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(os.path.join(CLIENT_PY_DIR, "distbank"), source / "distbank", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(CLIENT_PY_DIR, name), source / name)
    venv = tmp_path / "venv"
    # As on a machine with no package index and no pip configuration: no PIP_* settings (an
    # index, find-links, constraints), no pip.conf.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")

    def run(*argv):
        done = subprocess.run([str(a) for a in argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(sys.executable, "-m", "venv", "--system-site-packages", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index", source)
    shutil.rmtree(source)  # prove the installed copy is used
    assert "distbank 0.1.0" in run(venv / "bin" / "distbank", "--version")
    out = run(venv / "bin" / "python", "-c", "import os, distbank.client as c; print(c.PACKAGED_WSDL, os.path.getsize(c.PACKAGED_WSDL))")
    assert str(venv) in out and "site-packages" in out
    assert "transfer" in run(venv / "bin" / "python", "-m", "distbank", "--help")
