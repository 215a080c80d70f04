"""The app's own path, as the runbook's Python services take it: boto3's
default chain (IMDS through AWS_EC2_METADATA_SERVICE_ENDPOINT), the proxy
and CA variables as botocore reads them, and the runbook's section 1.4 round
trip (put, head, get, delete) on one key. Prints one JSON verdict line."""
import json
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

bucket = os.environ["S3_HEALTH_BUCKET"]
key = f"parity/probe-{time.time_ns()}.txt"
step = "credentials"
try:
    session = boto3.session.Session()
    cfg = Config(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=5,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    if session.get_credentials() is None:
        raise RuntimeError("no credentials")
    s3 = session.client("s3", config=cfg)
    step = "put"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hello\n")
    step = "head"
    s3.head_object(Bucket=bucket, Key=key)
    step = "get"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    if body != b"hello\n":
        raise RuntimeError("body differs")
    step = "delete"
    s3.delete_object(Bucket=bucket, Key=key)
    print(json.dumps({"verdict": "pass"}))
except (BotoCoreError, ClientError, RuntimeError, OSError) as e:
    status = None
    if isinstance(e, ClientError):
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    print(json.dumps({"verdict": "fail", "step": step, "error": type(e).__name__,
                      "status": status, "message": str(e)[:300]}))
    sys.exit(0)
