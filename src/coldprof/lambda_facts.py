"""Facts about AWS Lambda's Python runtimes that coldprof relies on; imports nothing."""

# The Python runtimes Lambda has offered, newest last, and the platform tags their zip packages
# are built for (AWS's "Working with .zip file archives for Python Lambda functions").
PYTHON_RUNTIMES = (
    "python3.7",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
)
PLATFORM_TAGS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}

# The AWS SDK for Python each runtime ships, as AWS last published it. Source: the "Lambda
# runtimes" page of the AWS Lambda Developer Guide
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), whose table had an
# "AWS SDK for Python" column; its last version with that column lists boto3-1.20.32
# botocore-1.23.32 for python3.7, python3.8 and python3.9 (an earlier one: 1.18.55 / 1.21.55).
# AWS then dropped the column: the Python page now says the version "depends on the runtime
# version and your AWS Region" and asks you to print boto3.__version__ from a function
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html, "Runtime-included SDK
# versions"). So python3.10 and later have no published version: None here, and coldprof uses
# the boto3 installed beside it unless --runtime-boto3 names one.
RUNTIME_SDK_TABLE_READ = "2026-11-29"
RUNTIME_SDK_SOURCE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html"
RUNTIME_SDK: dict[str, tuple[str, str] | None] = {
    "python3.7": ("1.20.32", "1.23.32"),
    "python3.8": ("1.20.32", "1.23.32"),
    "python3.9": ("1.20.32", "1.23.32"),
    "python3.10": None,
    "python3.11": None,
    "python3.12": None,
    "python3.13": None,
    "python3.14": None,
}


def runtime_sdk(runtime: str) -> tuple[str, str] | None:
    """(boto3, botocore) versions AWS published for a runtime such as "python3.9", or None."""
    return RUNTIME_SDK.get(runtime)

# Memory: Lambda accepts 128 to 10,240 MB, in 1 MB steps; one full vCPU at 1,769 MB, and CPU in
# proportion to memory (AWS Lambda Developer Guide, "Configuring Lambda function memory").
MIN_MEMORY_MB = 128
MAX_MEMORY_MB = 10_240
MB_PER_VCPU = 1769
# The memory tiers a sweep tries unless told otherwise.
DEFAULT_TIERS = (128, 256, 512, 1024, 1769, 3008)

# Package quotas: 50 MB zipped for a direct upload, 250 MB unzipped (function and layers together).
ZIPPED_LIMIT_BYTES = 50 * 1024 * 1024
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

# Init may run 10 s on demand; past that Lambda stops it and starts init again in the invocation.
INIT_LIMIT_S = 10.0

# The region an SDK falls back to when nothing names one, and the one the local emulator serves.
DEFAULT_REGION = "us-east-1"

# First-tier on-demand prices in US dollars, us-east-1 (AWS's Lambda pricing page).
PRICE_PER_GB_SECOND_USD: dict[str, float] = {
    "x86_64": 0.0000166667,
    "arm64": 0.0000133334,
}
PRICE_PER_REQUEST_USD = 0.20 / 1_000_000

# Function settings Lambda accepts: Timeout up to 900 s, environment variables up to 4 KB
# together, a description up to 256 characters, and none of the variables Lambda sets itself.
MAX_TIMEOUT_S = 900
MAX_ENV_BYTES = 4 * 1024
MAX_DESCRIPTION = 256
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

# Invoke payloads: 6 MB for a synchronous request or response, 1 MB for an asynchronous event.
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
