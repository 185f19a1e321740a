"""Finding the function's handler: given, from a template, or guessed by convention."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldprof.build.handler import resolve_function
from coldprof.errors import HandlerNotFoundError, UsageError


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("lambda_function.py", "lambda_function.lambda_handler"),
        ("app.py", "app.lambda_handler"),
        ("main.py", "main.lambda_handler"),
        ("handler.py", "handler.lambda_handler"),
    ],
)
def test_conventional_handlers(tmp_path: Path, filename: str, expected: str) -> None:
    write(tmp_path / filename, "def lambda_handler(e, c): pass\n")
    source = resolve_function(tmp_path)
    assert source.handler == expected
    assert source.handler_origin == "convention"


def test_a_guess_must_be_defined_in_its_module(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "import json\n\ndef handler(event, context):\n    return 1\n")
    assert resolve_function(tmp_path).handler == "app.handler"
    assert resolve_function(tmp_path / "app.py").handler == "app.handler"


@pytest.mark.parametrize(
    "source",
    [
        "async def handler(e, c): pass\n",
        "from mangum import Mangum\napp = object()\nhandler = Mangum(app)\n",
        "handler: object = None\n",
        "from .routes import handler\n",
        "import routes as handler\n",
        "try:\n    import x\nexcept ImportError:\n    def handler(e, c): pass\n",
        "if True:\n    handler, other = 1, 2\n",
        "class handler:\n    pass\n",
    ],
)
def test_what_counts_as_defining_the_handler(tmp_path: Path, source: str) -> None:
    write(tmp_path / "app.py", "def helper(): pass\n" + source)
    assert resolve_function(tmp_path).handler == "app.handler"


def test_a_name_only_used_or_nested_is_not_a_definition(tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        "def make():\n    def lambda_handler(e, c): pass\n    return lambda_handler\n"
        "print(lambda_handler)\n"
        "def handler(e, c): pass\n",
    )
    assert resolve_function(tmp_path).handler == "app.handler"


def test_a_guess_that_cannot_be_read_is_left_to_the_runtime(tmp_path: Path) -> None:
    # A star import could bind anything: the first guess stands, as before, and a name that is
    # not there is the runtime's Runtime.HandlerNotFound to report.
    write(tmp_path / "app.py", "from routes import *\n")
    assert resolve_function(tmp_path).handler == "app.lambda_handler"
    write(tmp_path / "app.py", "def broken(:\n")
    assert resolve_function(tmp_path).handler == "app.lambda_handler"


def test_no_guess_fits_lists_what_was_tried(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def main(e, c): pass\ndef _private(): pass\n")
    with pytest.raises(HandlerNotFoundError) as info:
        resolve_function(tmp_path)
    message = info.value.message
    assert "app.lambda_handler" in message and "main.handler" in message
    assert "app.py defines no lambda_handler or handler" in message
    assert "no lambda_function.py, handler.py or main.py" in message
    assert info.value.hint is not None and "app.main" in info.value.hint
    assert "_private" not in info.value.hint


def test_sam_template_names_the_handler_and_code_dir(tmp_path: Path) -> None:
    write(tmp_path / "hello_world" / "service.py", "def run(e, c): pass\n")
    write(tmp_path / "app.py", "def lambda_handler(e, c): pass\n")  # would win by convention
    write(
        tmp_path / "template.yaml",
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: hello_world/\n      Handler: service.run\n      Runtime: python3.12\n",
    )
    source = resolve_function(tmp_path)
    assert source.handler == "service.run"
    assert source.path == tmp_path / "hello_world/"
    assert source.handler_origin == "template.yaml"


def test_serverless_yml(tmp_path: Path) -> None:
    write(tmp_path / "src" / "api.py", "def hello(e, c): pass\n")
    write(tmp_path / "serverless.yml", "functions:\n  hello:\n    handler: src/api.hello\n")
    source = resolve_function(tmp_path)
    assert source.handler == "src/api.hello"
    assert source.module == "src.api"


def test_template_with_several_functions_asks_for_one(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "def h(e, c): pass\n")
    write(tmp_path / "b.py", "def h(e, c): pass\n")
    write(
        tmp_path / "template.yaml",
        "Resources:\n"
        "  A:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: a.h}\n"
        "  B:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: b.h}\n",
    )
    with pytest.raises(HandlerNotFoundError, match="several functions") as info:
        resolve_function(tmp_path)
    assert "--function" in (info.value.hint or "")
    assert resolve_function(tmp_path, function="B").handler == "b.h"


def test_explicit_handler_must_exist(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def lambda_handler(e, c): pass\n")
    assert resolve_function(tmp_path, "app.lambda_handler").handler_origin == "--handler"
    with pytest.raises(HandlerNotFoundError) as info:
        resolve_function(tmp_path, "missing.handler")
    assert "app" in (info.value.hint or "")
    with pytest.raises(UsageError, match="module.function"):
        resolve_function(tmp_path, "nodot")


def test_a_handler_file_can_be_given(tmp_path: Path) -> None:
    file = write(tmp_path / "fn.py", "def lambda_handler(e, c): pass\n")
    source = resolve_function(file)
    assert source.path == tmp_path and source.handler == "fn.lambda_handler"
