"""Symlinks and file names in the function folder, checked before anything is built or deployed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import coldprof_cmd

HANDLER = "def lambda_handler(event, context):\n    return 1\n"


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(coldprof_cmd(*args), capture_output=True, text=True, timeout=timeout)


def _function(tmp_path: Path, source: str = HANDLER) -> Path:
    fn = tmp_path / "fn"
    fn.mkdir()
    (fn / "app.py").write_text(source)
    return fn


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("coldprof: error")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("command", ["analyze", "audit"])
def test_a_file_link_out_of_the_folder_is_refused(tmp_path: Path, command: str) -> None:
    fn = _function(tmp_path)
    (fn / "passwd.txt").symlink_to("/etc/passwd")
    done = _run(command, str(fn), "--runs", "1")
    assert done.returncode == 2
    error = _one_line_error(done)
    assert "passwd.txt" in error and "/etc/passwd" in error


def test_a_directory_link_out_of_the_folder_is_refused_like_a_file_link(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for Lambda")
    fn = _function(tmp_path)
    (fn / "data").symlink_to(outside, target_is_directory=True)
    done = _run("analyze", str(fn), "--runs", "1")
    assert done.returncode == 2
    assert str(outside) in _one_line_error(done)


def test_follow_symlinks_packages_what_a_link_points_at(tmp_path: Path) -> None:
    outside = tmp_path / "shared"
    outside.mkdir()
    (outside / "util.py").write_text("VALUE = 1\n")
    fn = _function(tmp_path, "from shared_code import util\n\n" + HANDLER)
    (fn / "requirements.txt").write_text("")  # built: the package is a copy, links followed
    (fn / "shared_code").symlink_to(outside, target_is_directory=True)
    done = _run(
        "analyze",
        str(fn),
        "--runs",
        "1",
        "--bytecode-runs",
        "0",
        "--follow-symlinks",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert '"shared_code.util"' in done.stdout


def test_a_directory_link_inside_the_folder_is_followed(tmp_path: Path) -> None:
    """It used to be dropped silently from the build, and the import then failed at init."""
    fn = _function(tmp_path, "from lib import util\n\n" + HANDLER)
    (fn / "requirements.txt").write_text("")
    (fn / "real_lib").mkdir()
    (fn / "real_lib" / "util.py").write_text("VALUE = 1\n")
    (fn / "lib").symlink_to("real_lib", target_is_directory=True)
    done = _run("analyze", str(fn), "--runs", "1", "--bytecode-runs", "0", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"lib.util"' in done.stdout


def test_a_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    fn = _function(tmp_path)
    (fn / "sub").mkdir()
    (fn / "sub" / "again").symlink_to("..", target_is_directory=True)
    done = _run("analyze", str(fn), "--runs", "1", "--follow-symlinks")
    assert done.returncode == 2
    assert "symlink loop" in _one_line_error(done)
    (fn / "sub" / "again").unlink()
    (fn / "self").symlink_to("self")
    done = _run("analyze", str(fn), "--runs", "1")
    assert done.returncode == 2
    assert "symlink loop" in _one_line_error(done)


def test_a_file_name_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    fn = _function(tmp_path)
    with open(os.path.join(os.fsencode(fn), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"x")
    done = _run("analyze", str(fn), "--runs", "1")
    assert done.returncode == 2
    assert "not valid UTF-8" in _one_line_error(done)


def test_remote_deploy_refuses_a_link_out_of_the_folder(tmp_path: Path) -> None:
    fn = _function(tmp_path)
    (fn / "passwd.txt").symlink_to("/etc/passwd")
    done = _run("remote", str(fn), "--local", "--memory", "128", "--samples", "1", "--yes")
    assert done.returncode == 2
    assert "/etc/passwd" in _one_line_error(done)
