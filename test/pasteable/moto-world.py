"""Creates the AWS world the fixes are pasted into, in a running moto_server.

Run by test/pasteable/world.ts with AWS_ENDPOINT_URL pointing at moto; prints
the identifiers moto chose (instance ids, key ARNs) as one JSON line, so the
fixes are rendered with the values a real account would hand the sidecar.
"""

import json
import os
import sys

import boto3

REGION = sys.argv[1]
BUCKET = sys.argv[2]
APP_ROLE = sys.argv[3]
EXPECTED_ROLE = sys.argv[4]
CLUSTER = sys.argv[5]

session = boto3.session.Session(region_name=REGION)
iam = session.client("iam")
ec2 = session.client("ec2")
kms = session.client("kms")
s3 = session.client("s3")
eks = session.client("eks")
ecs = session.client("ecs")
sts = session.client("sts")

account = sts.get_caller_identity()["Account"]

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}

profiles = {}
for role in (APP_ROLE, EXPECTED_ROLE):
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    p = iam.create_instance_profile(InstanceProfileName=role)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
    profiles[role] = p["Arn"]

image = ec2.describe_images()["Images"][0]["ImageId"]


def instance():
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small")[
        "Instances"
    ][0]["InstanceId"]


# The instance the sidecar runs on carries the application's role.
app_instance = instance()
ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": APP_ROLE}, InstanceId=app_instance)
# Two without any instance profile: what imds_no_role sees (one per branch of its fix,
# since attaching a profile is not repeatable).
bare_instances = [instance(), instance()]



def new_key(description):
    return kms.create_key(Description=description)["KeyMetadata"]


key = new_key("s3-health app key")["Arn"]
KEY_ALIAS = "alias/kb-app"
kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key.split(":key/")[1])
# moto 5.2.1 finds keys by raw id only in DisableKey and ScheduleKeyDeletion.
disabled = new_key("disabled")
kms.disable_key(KeyId=disabled["KeyId"])
pending = new_key("pending deletion")
kms.schedule_key_deletion(KeyId=pending["KeyId"], PendingWindowInDays=7)

s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
s3.put_bucket_encryption(
    Bucket=BUCKET,
    ServerSideEncryptionConfiguration={
        "Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
        ]
    },
)
s3.put_bucket_policy(
    Bucket=BUCKET,
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    ),
)
s3.put_bucket_lifecycle_configuration(
    Bucket=BUCKET,
    LifecycleConfiguration={
        "Rules": [
            {
                "ID": "expire-probes",
                "Filter": {"Prefix": "healthcheck/"},
                "Status": "Enabled",
                "Expiration": {"Days": 1},
            }
        ]
    },
)

vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
        "Subnet"
    ]["SubnetId"]
    for i, az in ((1, "a"), (2, "b"))
]
ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway")
cluster = eks.create_cluster(
    name=CLUSTER,
    roleArn=f"arn:aws:iam::{account}:role/{APP_ROLE}",
    resourcesVpcConfig={"subnetIds": subnets},
)["cluster"]

ecs.create_cluster(clusterName=CLUSTER)
task_def = ecs.register_task_definition(
    family="s3-health-app",
    containerDefinitions=[
        {
            "name": "s3-health",
            "image": "s3-health:latest",
            "memory": 128,
            "environment": [{"name": "AWS_REGION", "value": REGION}],
        }
    ],
)["taskDefinition"]["taskDefinitionArn"]
ecs.create_service(cluster=CLUSTER, serviceName="app", taskDefinition=task_def, desiredCount=1)

print(
    json.dumps(
        {
            "accountId": account,
            "appInstance": app_instance,
            "bareInstances": bare_instances,
            "appInstanceProfileArn": profiles[APP_ROLE],
            "keyArn": key,
            "keyAlias": KEY_ALIAS,
            "disabledKeyArn": disabled["Arn"],
            "pendingKeyArn": pending["Arn"],
            "clusterArn": cluster["arn"],
            "taskDefinitionArn": task_def,
        }
    )
)
