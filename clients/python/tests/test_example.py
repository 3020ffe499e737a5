"""Runs examples/login.py as a person would: password, a wrong code, then the right one."""

import os
import subprocess
import sys

from conftest import PACKAGE_ROOT, USERS, totp, wrong_code


def test_the_login_example(stack):
    password, secret = USERS["carol"]
    answers = "%s\n%s\n%s\n" % (password, wrong_code(secret), totp(secret))
    done = subprocess.run(
        [sys.executable, os.path.join(PACKAGE_ROOT, "examples", "login.py"), stack.address,
         "carol"],
        input=answers, capture_output=True, text=True, timeout=60,
        start_new_session=True)  # no terminal: getpass reads stdin
    assert done.returncode == 0, done.stderr
    assert "Wrong code; 4 attempts left." in done.stdout
    assert "Logged in as carol until " in done.stdout
    assert password not in done.stdout + done.stderr
