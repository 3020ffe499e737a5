"""`pip install` of the package from a plain checkout (no generated code yet) into a throwaway
venv builds the gRPC modules itself and gives a package that imports and talks to the broker."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import login

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(PACKAGE_ROOT))


def pip_available():
    return subprocess.run([sys.executable, "-m", "pip", "--version"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


@pytest.mark.skipif(not pip_available(), reason="pip is not installed for " + sys.executable)
def test_pip_install_generates_the_grpc_code(tmp_path, stack):
    checkout = tmp_path / "checkout"
    shutil.copytree(os.path.join(REPO, "proto"), str(checkout / "proto"))
    shutil.copytree(PACKAGE_ROOT, str(checkout / "clients" / "python"),
                    ignore=shutil.ignore_patterns("_generated", "build", "*.egg-info",
                                                  "__pycache__", "tests"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # Offline: the build uses the system's setuptools instead of fetching it.
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-index",
                    str(checkout / "clients" / "python")], check=True, cwd=str(tmp_path))
    probe = ("import credbroker, sys; assert credbroker.__file__.startswith(sys.prefix), "
             "credbroker.__file__; client = credbroker.connect(sys.argv[1]); "
             "print(client.script_session('ingest-bot', 'ingest-bot-key-0001').access_token != '')")
    answer = subprocess.run([python, "-c", probe, stack.address], check=True, cwd=str(tmp_path),
                            stdout=subprocess.PIPE, text=True)
    assert answer.stdout.strip() == "True"
