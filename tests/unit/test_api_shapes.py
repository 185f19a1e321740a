"""Tests for tests/api_shapes.py: the model check finds what strays from botocore's model."""

from __future__ import annotations

import botocore.session

from api_shapes import shape_problems

LAMBDA = botocore.session.get_session().get_service_model("lambda")


def test_a_modelled_document_has_no_problems() -> None:
    shape = LAMBDA.operation_model("ListVersionsByFunction").output_shape
    document = {
        "Versions": [{"FunctionName": "fn", "MemorySize": 128, "Architectures": ["x86_64"]}],
        "NextMarker": "1",
    }
    assert shape_problems(shape, document, "out") == []


def test_unknown_mistyped_and_out_of_enum_fields_are_found() -> None:
    shape = LAMBDA.operation_model("GetFunctionConfiguration").output_shape
    problems = shape_problems(
        shape,
        {
            "Memorysize": 128,  # a typo botocore would silently drop
            "Timeout": "3",
            "State": "Sleeping",
            "Environment": {"Variables": {"A": 1}},
            "Architectures": "x86_64",
        },
        "out",
    )
    assert problems == [
        "out.Memorysize: not in the model",
        "out.Timeout: '3' is not an integer",
        "out.State: 'Sleeping' not one of ['Pending', 'Active', 'Inactive', 'Failed', "
        "'Deactivating', 'Deactivated', 'ActiveNonInvocable', 'Deleting']",
        "out.Environment.Variables[A]: 1 is not a string",
        "out.Architectures: str, not a list",
    ]
