"""The CDK layer asset, already laid out with python/ as Lambda's /opt holds it."""

VERSION = "1"
