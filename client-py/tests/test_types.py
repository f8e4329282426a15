"""The package type-checks under the mypy settings in pyproject.toml (Debian's python3-mypy), and
pyflakes finds nothing (flake8, settings in .flake8)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pyflakes_is_clean() -> None:
    # Debian packages no ruff; flake8's pyflakes checks (settings in .flake8) stand in for it.
    result = subprocess.run([sys.executable, "-m", "flake8", "distbank", "tests"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
