"""Create the end-to-end test virtualenv (Bugsink + sentry-relay) if it is missing.

Usage: python3 bootstrap_venv.py VENV_DIR

Several test binaries start at once under `cargo test`, so the work happens under an flock on VENV_DIR.lock: the kernel
drops that lock when a holder dies, so a killed run never leaves a stale lock behind. A marker file inside the venv,
written last, holds the requirement files it was built from; a venv without a matching marker is half-built or
outdated and is rebuilt from scratch.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
CONSTRAINTS = os.path.join(HERE, "constraints.txt")
MARKER = "e2e-installed.txt"
LOG = "e2e-pip-install.log"


def expected_marker():
    # The Rust side compares the same text, so a change of pins rebuilds the venv without anyone deleting it.
    with open(REQUIREMENTS) as r, open(CONSTRAINTS) as c:
        return r.read() + c.read()


def is_complete(venv):
    try:
        with open(os.path.join(venv, MARKER)) as f:
            return f.read() == expected_marker()
    except OSError:
        return False


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"(no log: {e})"


def run_logged(cmd, log_path, what):
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(cmd)}\n")
        log.flush()
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.stderr.write(
            f"e2e: {what} failed (exit {result.returncode}); full log in {log_path}; its last lines:\n"
            f"{tail(log_path)}\n"
        )
        sys.exit(1)


def build(venv):
    if os.path.exists(venv):
        sys.stderr.write(f"e2e: removing incomplete or outdated venv {venv}\n")
        shutil.rmtree(venv)
    parent = os.path.dirname(venv)
    os.makedirs(parent, exist_ok=True)
    # The log lives beside the venv while it is built, so a failed `python -m venv` still leaves it to read.
    log_path = venv + ".install.log"
    with open(log_path, "w"):
        pass
    started = time.monotonic()
    sys.stderr.write(f"e2e: creating {venv} with Bugsink and sentry-relay (first run only, about half a minute)\n")
    run_logged([sys.executable, "-m", "venv", venv], log_path, "python3 -m venv")
    pip = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    run_logged(pip + ["-r", REQUIREMENTS, "-c", CONSTRAINTS], log_path, "pip install of the e2e requirements")
    shutil.move(log_path, os.path.join(venv, LOG))
    # Written last: its presence means every step above succeeded.
    with open(os.path.join(venv, MARKER), "w") as f:
        f.write(expected_marker())
    sys.stderr.write(f"e2e: venv ready in {time.monotonic() - started:.0f} s\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bootstrap_venv.py VENV_DIR")
    venv = os.path.abspath(sys.argv[1])
    os.makedirs(os.path.dirname(venv), exist_ok=True)
    with open(venv + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Checked again under the lock: another test binary may have finished the install while this one waited.
        if not is_complete(venv):
            build(venv)


if __name__ == "__main__":
    main()
