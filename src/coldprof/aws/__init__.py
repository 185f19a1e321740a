"""AWS: boto3 clients for Lambda and CloudWatch Logs; REPORT lines parsed and formatted."""
