"""docker-compose.yml cannot be started here (no Docker engine): check what can be checked
without one. It parses, names the services an Airflow 3 deployment needs, runs Airflow
commands that exist, and mounts paths that exist in the repository."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)


def test_the_services_of_an_airflow_3_deployment_are_there() -> None:
    services = COMPOSE["services"]
    assert set(AIRFLOW_SERVICES) | {"postgres", "airflow-init"} <= set(services)
    assert (
        "postgresql"
        in services["airflow-scheduler"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert {"loyalty-data", "postgres-db"} <= set(COMPOSE["volumes"])


def test_secrets_come_from_the_environment_not_the_file() -> None:
    environment = COMPOSE["services"]["airflow-scheduler"]["environment"]
    assert environment["LOYALTY_PII_KEY"].startswith("${LOYALTY_PII_KEY:?")
    assert environment["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")


def test_mounted_and_copied_paths_exist_in_the_repository() -> None:
    service = COMPOSE["services"]["airflow-scheduler"]
    for volume in service["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (REPO / source).exists(), volume
    dockerfile = service["build"]["dockerfile_inline"]
    for line in dockerfile.splitlines():
        if line.startswith("COPY"):
            for source in line.split()[2:-1]:
                assert (REPO / source).exists(), line
    warehouse_volume = [v for v in service["volumes"] if v.startswith("loyalty-data:")]
    assert warehouse_volume == [f"loyalty-data:{service['environment']['LOYALTY_DATA_DIR']}"]


@pytest.mark.integration
@pytest.mark.parametrize("service", ["airflow-init", *AIRFLOW_SERVICES])
def test_airflow_commands_exist(service: str) -> None:
    command = COMPOSE["services"][service]["command"]
    assert command[0] == "airflow"
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run(
        [str(airflow), *command[1:], "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-500:]


def test_the_image_matches_the_pinned_airflow() -> None:
    dockerfile = COMPOSE["services"]["airflow-scheduler"]["build"]["dockerfile_inline"]
    image_version = re.search(r"apache/airflow:([\d.]+)-python3\.11", dockerfile)
    pinned = re.search(r'"apache-airflow==([\d.]+)"', (REPO / "pyproject.toml").read_text())
    assert image_version and pinned and image_version.group(1) == pinned.group(1)
