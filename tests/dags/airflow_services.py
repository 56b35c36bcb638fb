"""A real Airflow deployment for tests: a PostgreSQL metadata database, the api-server, the
scheduler (LocalExecutor) and the dag-processor, each a subprocess of its own.

Everything is isolated: a fresh PostgreSQL database, a temporary AIRFLOW_HOME, free ports
for the api-server and the worker log server, and only the LOYALTY_* settings given.
The services run in their own process groups and are stopped (whole groups) at the end;
when something goes wrong, `tails()` shows the end of every service's log.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions

AIRFLOW = Path(sys.executable).parent / "airflow"
SERVICES = ("api-server", "scheduler", "dag-processor")
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def fresh_postgres_database(server_dsn: str) -> Iterator[str]:
    """A new, empty database on the server of `server_dsn` (a libpq DSN of a maintenance
    database); yields its DSN and drops it afterwards, closing whatever still uses it."""
    name = f"loyalty_test_{uuid.uuid4().hex[:12]}"
    _autocommit(server_dsn, f'create database "{name}"')
    try:
        yield psycopg2.extensions.make_dsn(server_dsn, dbname=name)
    finally:
        _autocommit(server_dsn, f'drop database if exists "{name}" with (force)')


def _autocommit(dsn: str, statement: str) -> None:
    connection = psycopg2.connect(dsn, connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def sqlalchemy_url(dsn: str) -> str:
    """The SQLAlchemy URL (psycopg2 driver) of a libpq DSN."""
    params = psycopg2.extensions.parse_dsn(dsn)
    user = params.get("user", "postgres")
    password = f":{params['password']}" if params.get("password") else ""
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql+psycopg2://{user}{password}@{host}:{port}/{params['dbname']}"


@dataclass
class AirflowDeployment:
    """Airflow's processes around one metadata database. `env` is what every Airflow
    process (and so every task) of this deployment sees."""

    home: Path
    database_dsn: str
    env: dict[str, str]
    api_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def create(
        cls, home: Path, database_dsn: str, dags_folder: Path, extra_env: dict[str, str]
    ) -> AirflowDeployment:
        api_port = free_port()
        log_port = free_port()
        while log_port == api_port:
            log_port = free_port()
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "LOYALTY_", "_AIRFLOW"))
        }
        env = {
            **inherited,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(database_dsn),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
            # One secret for every component that signs or checks the task tokens.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            **extra_env,
        }
        (home / "logs").mkdir(parents=True, exist_ok=True)
        return cls(home=home, database_dsn=database_dsn, env=env, api_port=api_port)

    # -- commands and services ---------------------------------------------------------

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `airflow <args>` to completion; raise with its output when it fails."""
        result = subprocess.run(
            [str(AIRFLOW), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def log_file(self, service: str) -> Path:
        return self.home / f"{service}.log"

    def start(self) -> None:
        """Start the api-server, the scheduler and the dag-processor, each in a process
        group of its own (so stopping one stops the workers it spawned)."""
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port)],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
        }
        for service in SERVICES:
            with self.log_file(service).open("wb") as log:
                self.processes[service] = subprocess.Popen(
                    [str(AIRFLOW), *commands[service]],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )

    def check_alive(self) -> None:
        for service, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(
                    f"airflow {service} exited with {process.returncode}\n{self.tails()}"
                )

    def stop(self, grace_seconds: float = 20) -> None:
        """SIGTERM every service's process group, then SIGKILL what is left."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            # The group may outlive its leader (task workers): kill it in any case.
            _signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def tails(self, lines: int = 40) -> str:
        parts = []
        for service in SERVICES:
            path = self.log_file(service)
            if path.is_file():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {service} ({path}) ---\n" + "\n".join(text))
        return "\n".join(parts)

    # -- the metadata database ---------------------------------------------------------

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of one read-only query on the metadata database."""
        connection = psycopg2.connect(self.database_dsn, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def wait_for(
        self, what: str, probe: Callable[[], T | None], timeout: float, every: float = 2
    ) -> T:
        """Poll `probe` until it returns something other than None; the services must stay
        up meanwhile. Fails with every service's log tail on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            value = probe()
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}\n{self.tails()}"
                )
            time.sleep(every)

    def task_log_tail(self, dag_id: str, run_id: str, task_id: str, lines: int = 60) -> str:
        """The end of a task's newest attempt log, from the local log folder."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        attempts = sorted(folder.glob("attempt=*.log"))
        if not attempts:
            return f"(no log under {folder})"
        text = attempts[-1].read_text(errors="replace").splitlines()[-lines:]
        return f"--- {attempts[-1]} ---\n" + "\n".join(text)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


@contextlib.contextmanager
def running_airflow(
    home: Path, database_dsn: str, dags_folder: Path, extra_env: dict[str, str]
) -> Iterator[AirflowDeployment]:
    """Migrate the metadata database, start the services, stop them at the end."""
    deployment = AirflowDeployment.create(home, database_dsn, dags_folder, extra_env)
    deployment.airflow("db", "migrate", timeout=600)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
