"""`coldprof remote`'s deploy helpers: the deterministic zip, the temporary function's name."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

from coldprof.remote.archive import build_zip
from coldprof.remote.deploy import temporary_function_name


def test_zip_is_deterministic_and_drops_foreign_bytecode(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "__pycache__").mkdir(parents=True)
    (root / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (root / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"312")
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"311")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("x")
    first = build_zip(root, "3.12")
    (root / "app.py").touch()  # a new mtime must not change the bytes
    assert build_zip(root, "3.12") == first
    with zipfile.ZipFile(BytesIO(first)) as archive:
        names = archive.namelist()
        assert names == ["__pycache__/app.cpython-312.pyc", "app.py"]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
        assert (archive.getinfo("app.py").external_attr >> 16) & 0o777 == 0o644


def test_temporary_function_name_fits_lambda_rules(tmp_path: Path) -> None:
    name = temporary_function_name(tmp_path / ("héavy deps." + "x" * 80))
    assert name.startswith("coldprof-h-avy-deps")
    assert len(name) <= 64
    assert all(c.isalnum() or c in "-_" for c in name)
    assert temporary_function_name(tmp_path / "a") != temporary_function_name(tmp_path / "a")
