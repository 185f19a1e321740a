"""The wheel users install: its metadata, and a platform-specific runtime interface client."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def wheel_metadata(tmp_path_factory: pytest.TempPathFactory) -> email.message.Message:
    """Build the wheel as pip would from a checkout (no build isolation, so no network)."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--quiet", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("coldprof-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        licenses = [n for n in archive.namelist() if "/licenses/" in n or n.endswith("LICENSE")]
        assert licenses, archive.namelist()
        return email.message_from_bytes(archive.read(name))


def test_awslambdaric_is_required_on_linux_only(wheel_metadata: email.message.Message) -> None:
    requires = wheel_metadata.get_all("Requires-Dist") or []
    from packaging.requirements import Requirement

    (ric,) = [Requirement(r) for r in requires if r.startswith("awslambdaric")]
    assert ric.marker is not None
    assert ric.marker.evaluate({"sys_platform": "linux"})
    assert not ric.marker.evaluate({"sys_platform": "darwin"})
    assert not ric.marker.evaluate({"sys_platform": "win32"})
    # The rest installs everywhere: nothing else is tied to one platform.
    assert not [r for r in requires if "sys_platform" in r and not r.startswith("awslambdaric")]
    assert any(r.startswith("rich") for r in requires), requires


def test_classifiers(wheel_metadata: email.message.Message) -> None:
    classifiers = wheel_metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.10" in classifiers
    assert "Programming Language :: Python :: 3.13" in classifiers
    assert {c for c in classifiers if c.startswith("Operating System ::")} >= {
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Operating System :: Microsoft :: Windows",
    }
    assert any(c.startswith("Topic ::") for c in classifiers)
    assert wheel_metadata["License-Expression"] == "MIT"


def test_readme_links_point_at_files_that_exist() -> None:
    """Relative links, as the repository has no public address yet: each must lead somewhere."""
    import re

    text = re.sub(r"`[^`\n]*`", "", (REPO / "README.md").read_text())  # code is not links
    targets = [
        target.split("#")[0]
        for target in re.findall(r"\]\(([^)]+)\)", text)
        if not target.startswith(("http://", "https://", "#", "mailto:"))
    ]
    assert targets
    missing = [t for t in targets if not (REPO / t).exists()]
    assert not missing, missing


def test_license_file_is_mit() -> None:
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
