"""A releasable package: wheel and sdist build, pass twine, and install as a provider Airflow finds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from airflow_provider_datareplication import __version__
from airflow_provider_datareplication.version_compat import AIRFLOW_V_3_3_PLUS

# Built and installed once, on the newest Airflow of the matrix: the package is the same for both.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the package is built and installed on Airflow 3.3"),
]

ROOT = Path(__file__).resolve().parents[2]
#: The clean environment gets the pins of the environment running the tests.
CONSTRAINTS = "airflow-3.3.txt"


def test_build_check_and_install_into_a_clean_environment(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)], check=True)
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    with tarfile.open(sdist) as archive:
        sdist_licence = archive.extractfile(f"{sdist.name.removesuffix('.tar.gz')}/LICENSE")
        assert sdist_licence is not None and sdist_licence.read().decode() == licence
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "airflow_provider_datareplication/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)
    assert "Classifier: Framework :: Apache Airflow :: Provider" in metadata
    (wheel_licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(wheel_licence).decode() == licence
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is installed with the test tools"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "-c",
            str(ROOT / "constraints" / CONSTRAINTS),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    listed = subprocess.run(
        [str(venv / "bin" / "airflow"), "providers", "list", "-o", "json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    providers = {p["package_name"]: p["version"] for p in json.loads(listed[listed.index("[") :])}
    assert providers["airflow-provider-datareplication"] == __version__
