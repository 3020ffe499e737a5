#!/usr/bin/python3
"""Example: log in through the broker, typing the 2FA code. Usage: login.py ADDRESS USER"""
import getpass, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import credbroker

def ask(prompt):
    if prompt.previous_error:
        print("Wrong code; %d attempts left." % prompt.attempts_left)
    return input("Two-factor code: ")

with credbroker.connect(sys.argv[1]) as client:
    session = client.login(sys.argv[2], getpass.getpass(), ask)
    print("Logged in as %s until %s" % (session.principal.user_login, session.expire_time))
