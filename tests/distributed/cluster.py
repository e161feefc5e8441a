"""
Airflow's distributed deployment, on one machine, for tests: Postgres, Redis, the CeleryExecutor.

:func:`start_cluster` starts, on a throwaway home and free 127.0.0.1 ports:

- Postgres (Debian's ``postgresql``): a cluster ``initdb``'d in a temp dir and run by the
  package's ``postgres`` user when the tests run as root (Postgres refuses to run as root);
- Redis (Debian's ``redis-server``), the Celery broker;
- the Data Replication emulator (in this process), enforcing ARM's read limits;
- Airflow: scheduler, DAG processor, API server, two Celery workers and two triggerers, each its
  own process group.

The returned :class:`Cluster` has the standalone deployment's REST helpers (trigger runs, read
states, XComs, logs), reads the metadata database directly (:meth:`Cluster.sql`), and kills one
component process (:meth:`Cluster.kill`). :meth:`Cluster.stop` stops everything.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.standalone.deployment import (
    PASSWORD_FILE,
    Standalone,
    StandaloneError,
    _environment,
    free_port,
    output_tail,
    stop_processes,
)

if TYPE_CHECKING:
    from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator

DAGS = Path(__file__).parent / "dags"
#: Lines for pytest's terminal summary (conftest.py): print() in a test or fixture is captured.
SUMMARY: list[str] = []
#: ARM's read limit the emulator enforces: a bucket of 250 reads per principal and subscription,
#: refilled 25 per second.
ARM_READ_LIMIT = (250.0, 25.0)
#: Airflow's components, by name: the command after ``airflow``.
COMPONENTS: dict[str, list[str]] = {
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "api-server": ["api-server"],
    "worker-1": ["celery", "worker", "--celery-hostname", "worker-1@%h", "--concurrency", "16"],
    "worker-2": ["celery", "worker", "--celery-hostname", "worker-2@%h", "--concurrency", "16"],
    "triggerer-1": ["triggerer"],
    "triggerer-2": ["triggerer"],
}


def component_hostname() -> str:
    """The hostname a component reports (``[core] hostname_callable``): its name, to tell triggerers apart."""
    return os.environ["DATAREPLICATION_COMPONENT"]


def _as_postgres() -> dict[str, Any]:
    """Run a Postgres command as the ``postgres`` user when this process is root."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def postgres_bin(name: str) -> str:
    """A Postgres server program (``initdb``, ``pg_ctl``) from Debian's packages."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    found = candidates[-1] if candidates else shutil.which(name)
    if not found:
        raise StandaloneError(f"{name} not found: install Debian's postgresql (scripts/install.sh does)")
    return found


@dataclass
class Postgres:
    """A throwaway Postgres cluster on 127.0.0.1."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``airflow`` database."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Run a query in the ``airflow`` database; return its rows."""
        import psycopg2

        with (
            contextlib.closing(
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="airflow")
            ) as db,
            db.cursor() as cursor,
        ):
            cursor.execute(query)
            return list(cursor.fetchall()) if cursor.description else []

    def stop(self) -> None:
        """Stop the server and remove its files."""
        subprocess.run(
            [postgres_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
            timeout=60,
            **_as_postgres(),
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    """``initdb`` a cluster in a temp dir and start it (as ``postgres`` when run as root)."""
    root = Path(tempfile.mkdtemp(prefix="datareplication-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    data, log = root / "data", root / "postgres.log"
    run = {"capture_output": True, "check": True, "timeout": 120, **_as_postgres()}
    subprocess.run(
        [postgres_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], **run
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [postgres_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], **run
    )
    postgres = Postgres(root, port)
    import psycopg2

    with contextlib.closing(
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    ) as db:
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute("CREATE DATABASE airflow")
    return postgres


def start_redis(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start Debian's ``redis-server`` on 127.0.0.1 (no persistence); return it and its port."""
    binary = shutil.which("redis-server")
    if not binary:
        raise StandaloneError(
            "redis-server not found: install Debian's redis-server (scripts/install.sh does)"
        )
    port = free_port()
    with (root / "redis.out").open("wb") as output:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    import socket

    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return process, port
        if time.monotonic() > deadline or process.poll() is not None:
            raise StandaloneError(f"redis-server did not start{output_tail(root / 'redis.out')}")
        time.sleep(0.1)


@dataclass
class Cluster(Standalone):
    """
    A running CeleryExecutor deployment: the standalone's REST helpers, and its parts by name.

    :param postgres: The metadata database.
    :param redis: The broker's process.
    :param components: Airflow's processes by component name (``triggerer-1``, ``worker-2``, ...).
    :param outputs: Their output files, by component name.
    """

    postgres: Postgres | None = None
    redis: subprocess.Popen[bytes] | None = None
    components: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Run a query in the metadata database."""
        assert self.postgres is not None
        return self.postgres.sql(query)

    def celery_workers(self) -> int:
        """How many Celery workers said they are ready."""
        return sum(
            1
            for name, path in self.outputs.items()
            if name.startswith("worker") and " ready." in output_tail(path, 10**6)
        )

    def kill(self, name: str) -> list[int]:
        """SIGKILL one component and all its descendants (as when its container dies); return the pids."""
        import psutil

        process = self.components[name]
        pids: list[int] = []
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(process.pid)
            pids = [proc.pid for proc in [root, *root.children(recursive=True)]]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        return pids

    def where_stuck(self, name: str) -> str:
        """
        What one component's processes are doing: state, the kernel's wait channel, and Python stacks.

        A hung process shows where it waits (``sock_alloc_send_pskb``: writing to a full socket);
        the stacks come from ``py-spy`` when it is installed next to this Python or on the PATH.
        """
        import psutil

        search = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
        spy = shutil.which("py-spy", path=search)
        lines = []
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.components[name].pid)
            for proc in [root, *root.children(recursive=True)]:
                wchan = Path(f"/proc/{proc.pid}/wchan")
                waits = wchan.read_text() if wchan.exists() else "?"
                lines.append(f"{name} pid {proc.pid}: {proc.status()}, waiting in {waits or '-'}")
                if spy:
                    command = [spy, "dump", "--pid", str(proc.pid)]
                    dump = subprocess.run(command, capture_output=True, text=True, timeout=60)
                    lines.append(dump.stdout or dump.stderr)
        return "\n".join(lines) or f"{name}: no process"

    def tail(self, lines: int = 80) -> str:
        """The end of every component's output, as a message suffix."""
        return "".join(
            f"\n---- {name} (tail) ----\n" + output_tail(path, lines) for name, path in self.outputs.items()
        )

    def output_text(self) -> str:
        """Every component's whole output."""
        return "\n".join(output_tail(path, 10**9) for path in self.outputs.values())

    def stop(self) -> list[int]:
        """Stop Airflow, Redis, Postgres and the emulator; return pids that needed SIGKILL."""
        killed = stop_processes(list(self.components.values()), self.airflow_home)
        if self.redis is not None:
            killed += stop_processes([self.redis], self.airflow_home, grace=5)
        if self.postgres is not None:
            self.postgres.stop()
        self.emulator.stop()
        return killed


def _airflow(args: list[str], env: dict[str, str], output_file: Path) -> subprocess.Popen[bytes]:
    with output_file.open("wb") as output:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=env["AIRFLOW_HOME"],
            start_new_session=True,
        )


def start_cluster(startup_timeout: float = 300.0) -> Cluster:
    """
    Start Postgres, Redis, the emulator and Airflow's distributed components; return once healthy.

    Everything started is stopped again if start-up fails (the error carries the outputs' tails).

    :param startup_timeout: Seconds to wait for every component to report healthy.
    """
    import requests
    from cryptography.fernet import Fernet

    from airflow_provider_datareplication.testing.emulator import DataReplicationEmulator

    # ARM's v2 bucket, shared by the two triggerers and the workers: what this deployment is about.
    emulator: DataReplicationEmulator = DataReplicationEmulator(
        arm_read_limit=ARM_READ_LIMIT, throttling="v2"
    ).start()
    airflow_home = Path(tempfile.mkdtemp(prefix="datareplication-distributed-"))
    shutil.copytree(DAGS, airflow_home / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    cluster = Cluster(
        base_url=f"http://127.0.0.1:{port}",
        username="admin",
        password="",
        airflow_home=airflow_home,
        env={},
        emulator=emulator,
        emulator_info={"url": emulator.url, "ca_file": emulator.ca_file},
        process=None,  # type: ignore[arg-type]
        output_file=airflow_home / "scheduler.out",
    )
    try:
        cluster.postgres = start_postgres()
        cluster.redis, redis_port = start_redis(airflow_home)
        env = _environment(airflow_home, port, emulator)
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": cluster.postgres.url,
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://postgres@127.0.0.1:{cluster.postgres.port}/airflow",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "16",
                "AIRFLOW__CORE__PARALLELISM": "64",
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "256",
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__SCHEDULER__MAX_TIS_PER_QUERY": "64",
            }
        )
        cluster.env = env
        migrate = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrate.returncode != 0:
            raise StandaloneError(
                f"airflow db migrate failed:\n{migrate.stdout[-3000:]}{migrate.stderr[-3000:]}"
            )
        for name, args in COMPONENTS.items():
            component_env = dict(env)
            # Each worker and triggerer runs a log server: each on a port of its own.
            component_env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
            component_env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(free_port())
            if name == "api-server":
                args = [*args, "--port", str(port)]
            if name.startswith("triggerer"):
                # The triggerer's job row names it, so a test can kill the one holding the triggers.
                component_env["DATAREPLICATION_COMPONENT"] = name
                component_env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = f"{__name__}.component_hostname"
                component_env["PYTHONPATH"] = os.pathsep.join(
                    filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
                )
            output_file = airflow_home / f"{name}.out"
            cluster.components[name] = _airflow(args, component_env, output_file)
            cluster.outputs[name] = output_file
        cluster.process = cluster.components["scheduler"]
        deadline = time.monotonic() + startup_timeout
        health: dict[str, Any] = {}
        while True:
            for name, process in cluster.components.items():
                if process.poll() is not None:
                    raise StandaloneError(f"{name} exited with {process.returncode}")
            with contextlib.suppress(requests.RequestException, ValueError):
                health = cluster.health()
                statuses = [part.get("status") for part in health.values() if isinstance(part, dict)]
                workers = cluster.celery_workers()
                if len(statuses) >= 4 and all(s == "healthy" for s in statuses) and workers >= 2:
                    break
            if time.monotonic() > deadline:
                raise StandaloneError(f"not healthy within {startup_timeout:g} s: {health}")
            time.sleep(1)
        passwords = (airflow_home / PASSWORD_FILE).read_text()
        import json

        cluster.password = json.loads(passwords)[cluster.username]
        cluster.token()
    except BaseException as err:
        tail = cluster.tail()
        cluster.stop()
        if isinstance(err, StandaloneError):
            raise StandaloneError(f"{err}{tail}") from None
        raise StandaloneError(f"start-up failed: {err!r}{tail}") from err
    return cluster
