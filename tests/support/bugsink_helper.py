"""Run one private Bugsink server for one test process, and answer questions about what it stored.

Usage: VENV/bin/python bugsink_helper.py DATA_DIR

Started by the Rust side (tests/src/bugsink.rs) once per test process. It:
  1. writes a settings module into DATA_DIR (from `bugsink-create-conf --template=local`, every path inside DATA_DIR),
  2. migrates the databases in-process and creates a user and a team,
  3. binds 127.0.0.1:0 itself and hands the listening socket to gunicorn as fd://N, so the port is known before
     gunicorn starts and no other process can take it in between,
  4. prints one JSON line {"ok": {...}} once the server answers (or {"error": ...} and exits),
  5. then answers JSON-line requests on stdin ({"cmd": ..., ...} -> {"ok": ...} | {"error": ...}).

Lifetime: stdin is a pipe from the test process, so EOF on it means the test process is gone (however it ended,
SIGKILL included); the helper then stops gunicorn and exits. A thread also watches the parent pid in case the pipe is
inherited by a stray child, and gunicorn gets PR_SET_PDEATHSIG so it dies with this helper even if the helper is
SIGKILLed. Gunicorn's workers already exit when their master does.
"""

import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

DATA_DIR = None
GUNICORN = None
PROTOCOL = None  # the real stdout; fd 1 itself is pointed at stderr so stray prints cannot corrupt the protocol
SHUTDOWN_LOCK = threading.Lock()

# Generous limits: tests create a fresh project each, but a load test may still send thousands of events quickly.
QUOTA = 1_000_000_000


def log(msg):
    sys.stderr.write(f"[bugsink_helper {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def venv_bin(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def write_settings(port):
    conf = os.path.join(DATA_DIR, "bugsink_conf.py")
    subprocess.run(
        [venv_bin("bugsink-create-conf"), "--template=local", f"--port={port}", f"--output-file={conf}"],
        check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )

    def p(name):
        return repr(os.path.join(DATA_DIR, name))

    overrides = f"""

# --- e2e overrides (tests/support/bugsink_helper.py): everything inside this run's own directory ---
DATABASES["default"]["NAME"] = {p("db.sqlite3")}
DATABASES["default"]["TEST"]["NAME"] = {p("test.sqlite3")}
DATABASES["snappea"]["NAME"] = {p("snappea.sqlite3")}
# Eager: the event is digested inside the ingest request, so a 200 means it is stored.
SNAPPEA = {{"TASK_ALWAYS_EAGER": True, "WAKEUP_CALLS_DIR": {p("snappea.wakeup")}}}
BUGSINK["BASE_URL"] = "http://127.0.0.1:{port}"
BUGSINK["PHONEHOME"] = False
BUGSINK["KEEP_ENVELOPES"] = 100_000
BUGSINK["INGEST_STORE_BASE_DIR"] = {p("ingestion")}
BUGSINK["FEATURE_MINIDUMPS"] = True
for _k in ("MAX_EVENTS_PER_PROJECT_PER_5_MINUTES", "MAX_EVENTS_PER_PROJECT_PER_HOUR",
           "MAX_EVENTS_PER_PROJECT_PER_MONTH", "MAX_EVENTS_PER_5_MINUTES", "MAX_EVENTS_PER_HOUR",
           "MAX_EVENTS_PER_MONTH"):
    BUGSINK[_k] = {QUOTA}
"""
    with open(conf, "a") as f:
        f.write(overrides)


DATABASE_FILES = {"default": "db.sqlite3", "snappea": "snappea.sqlite3"}


def migrate(call_command):
    call_command("migrate", verbosity=0, interactive=False)
    call_command("migrate", "snappea", database="snappea", verbosity=0, interactive=False)


def migrate_from_template(call_command):
    """Migrate the databases, starting from a copy of already-migrated ones when this venv has them.

    Migrating empty databases takes about 3 s, a third of a cold start, and every test binary pays it. The first
    helper of a venv saves its freshly migrated databases next to the venv (so a new Bugsink version, which comes with
    a new venv, gets new ones); later helpers copy them and run `migrate` anyway, which is a 0.1 s no-op when the copy
    is current and brings it up to date when it is not.
    """
    from django.db import connections

    template = os.path.join(os.path.dirname(os.path.dirname(sys.executable)), "e2e-db-template")
    complete = os.path.join(template, "complete")
    try:
        os.makedirs(template, exist_ok=True)
        lock = open(template + ".lock", "w")
    except OSError as e:  # a read-only shared venv ($E2E_VENV): just migrate from scratch
        log(f"no database template ({e}); migrating from scratch")
        migrate(call_command)
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel if this process dies
        if os.path.exists(complete):
            for name in DATABASE_FILES.values():
                shutil.copyfile(os.path.join(template, name), os.path.join(DATA_DIR, name))
            migrate(call_command)
            return
        migrate(call_command)
        for alias, name in DATABASE_FILES.items():
            target = os.path.join(template, name)
            if os.path.exists(target):
                os.remove(target)  # VACUUM INTO refuses to overwrite, and a leftover here is from a crashed helper
            # VACUUM INTO writes one consistent file even though the live database is in WAL mode.
            with connections[alias].cursor() as cursor:
                cursor.execute("VACUUM INTO %s", [target])
        with open(complete, "w") as f:
            f.write("migrated databases for the e2e Bugsink; delete this directory to rebuild them\n")


def setup_django():
    sys.path.insert(0, DATA_DIR)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bugsink_conf"
    import django
    from django.core.management import call_command

    django.setup()
    migrate_from_template(call_command)

    from django.contrib.auth import get_user_model
    from teams.models import Team, TeamMembership

    user = get_user_model().objects.create_superuser(username="e2e", email="e2e@example.com", password="e2e")
    team = Team.objects.create(name="e2e")
    TeamMembership.objects.create(team=team, user=user, accepted=True)
    return user, team


def gunicorn_preexec():
    # PR_SET_PDEATHSIG = 1: the kernel sends SIGTERM to gunicorn when this helper dies, even by SIGKILL.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


def start_gunicorn(sock):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bugsink_conf", PYTHONPATH=DATA_DIR)
    out = open(os.path.join(DATA_DIR, "gunicorn.log"), "ab")
    cmd = [
        venv_bin("gunicorn"), f"--bind=fd://{sock.fileno()}", "--no-control-socket",
        "--workers=1", "--threads=4", "--timeout=120", "--chdir", DATA_DIR, "bugsink.wsgi",
    ]
    return subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        pass_fds=(sock.fileno(),), preexec_fn=gunicorn_preexec,
    )


def wait_until_answering(base_url, timeout=60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if GUNICORN.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {GUNICORN.returncode} while starting")
        try:
            with urllib.request.urlopen(base_url + "/health/ready", timeout=10) as r:
                if r.status == 200:
                    return
                last = f"status {r.status}"
        except (urllib.error.URLError, OSError) as e:
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {base_url}/health/ready within {timeout} s (last: {last})")


def shutdown(code=0):
    # Reached from the stdin loop, the parent watchdog thread and SIGTERM; only the first caller acts.
    if not SHUTDOWN_LOCK.acquire(blocking=False):
        return
    if GUNICORN is not None and GUNICORN.poll() is None:
        GUNICORN.terminate()
        try:
            GUNICORN.wait(timeout=5)
        except subprocess.TimeoutExpired:
            GUNICORN.kill()
            GUNICORN.wait()
    # The helper leads its own process group (the Rust side spawns it so); clear out anything gunicorn left behind.
    # This signal also ends the helper itself, which is what is wanted here.
    sys.stderr.flush()
    if os.getpgid(0) == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(code)


def watch_parent(parent_pid):
    while True:
        if os.getppid() != parent_pid:
            log("test process is gone; stopping")
            shutdown(0)
        time.sleep(0.5)


class Handler:
    def __init__(self, user, team):
        self.user = user
        self.team = team

    def create_project(self, name):
        from projects.models import Project, ProjectMembership, ProjectRole

        # Names are unique per team; tests may reuse theirs, so the caller gets a suffixed one instead of an error.
        unique, n = name, 1
        while Project.objects.filter(team=self.team, name=unique).exists():
            n += 1
            unique = f"{name}-{n}"
        project = Project.objects.create(name=unique, team=self.team, retention_max_event_count=QUOTA)
        ProjectMembership.objects.create(project=project, user=self.user, role=ProjectRole.ADMIN, accepted=True)
        return {"id": project.id, "name": project.name, "slug": project.slug, "dsn": project.dsn}

    def events(self, project_id):
        from events.models import Event

        qs = Event.objects.filter(project_id=project_id).order_by("digest_order")
        # The stored text, parsed on the Rust side: a Python parse + dump here would be one more float round trip.
        return [e.get_raw_data() for e in qs]

    def envelopes(self, project_id):
        from ingest.models import Envelope

        qs = Envelope.objects.filter(project_pk=project_id).order_by("ingested_at")
        return [bytes(e.data).hex() for e in qs]

    def ping(self):
        return "pong"


def reply_line(obj):
    PROTOCOL.write(json.dumps(obj) + "\n")
    PROTOCOL.flush()


def serve(handler):
    for line in sys.stdin:
        try:
            req = json.loads(line)
            cmd = req.pop("cmd")
            if cmd.startswith("_") or not hasattr(handler, cmd):
                raise ValueError(f"unknown command {cmd!r}")
            reply = {"ok": getattr(handler, cmd)(**req)}
        except Exception as e:  # reported to the caller, which fails the test with it
            reply = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        reply_line(reply)


def main():
    global DATA_DIR, GUNICORN, PROTOCOL
    if len(sys.argv) != 2:
        sys.exit("usage: bugsink_helper.py DATA_DIR")
    PROTOCOL = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    DATA_DIR = os.path.abspath(sys.argv[1])
    os.makedirs(DATA_DIR, exist_ok=True)
    parent_pid = os.getppid()
    threading.Thread(target=watch_parent, args=(parent_pid,), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: shutdown(0))

    started = time.monotonic()
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        write_settings(port)
        user, team = setup_django()
        migrated = time.monotonic()
        GUNICORN = start_gunicorn(sock)
        sock.close()  # gunicorn holds its own copy now
        base_url = f"http://127.0.0.1:{port}"
        wait_until_answering(base_url)
    except Exception as e:
        log(traceback.format_exc())
        reply_line({"error": f"{type(e).__name__}: {e}"})
        shutdown(1)
    log(f"serving {base_url} (setup {migrated - started:.1f} s, total {time.monotonic() - started:.1f} s)")
    ready = {"base_url": base_url, "port": port, "gunicorn_pid": GUNICORN.pid, "data_dir": DATA_DIR}
    reply_line({"ok": ready})
    serve(Handler(user, team))
    shutdown(0)


if __name__ == "__main__":
    main()
