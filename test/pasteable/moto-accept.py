"""Hands every policy document a fix prints to moto's IAM and KMS.

stdin: a JSON list of {"kind": "identity"|"trust"|"key-statement", "doc": {...}}.
stdout: one JSON list of {"ok": bool, "error": str} in the same order.
Identity policies go through PutRolePolicy, trust policies through
UpdateAssumeRolePolicy (moto runs its IAM policy validators on both), key
policy statements are added to a key's policy with PutKeyPolicy.
"""

import json
import sys

import boto3
from botocore.exceptions import ClientError

KEY_ARN = sys.argv[1]
ROLE = "s3-health-paste-check"

session = boto3.session.Session(region_name=KEY_ARN.split(":")[3])
iam = session.client("iam")
kms = session.client("kms")

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
try:
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
except iam.exceptions.EntityAlreadyExistsException:
    pass

results = []
for i, item in enumerate(json.load(sys.stdin)):
    doc = json.dumps(item["doc"])
    try:
        if item["kind"] == "identity":
            iam.put_role_policy(RoleName=ROLE, PolicyName=f"doc-{i}", PolicyDocument=doc)
        elif item["kind"] == "trust":
            iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=doc)
        else:
            # moto 5.2.1 finds keys by raw id only in some calls: use the id.
            key_id = KEY_ARN.split(":key/")[1]
            policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
            policy["Statement"].append(item["doc"])
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))
            back = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
            if item["doc"] not in back["Statement"]:
                raise RuntimeError("the statement did not stick in the key policy")
        results.append({"ok": True, "error": ""})
    except (ClientError, RuntimeError, KeyError) as e:
        results.append({"ok": False, "error": str(e)})
print(json.dumps(results))
