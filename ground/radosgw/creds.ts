// Credentials as rgw hands them out, and the one AssumeRole call that gets
// temporary ones: a leaf, so the runner and the data view of it share it
// without importing each other.
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';

export interface StaticCreds {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface TempCreds extends StaticCreds {
  sessionToken: string;
  expiration: Date;
}

/** One real STS AssumeRole against rgw, its answer checked complete. */
export async function assumeRoleWith(
  sts: STSClient,
  o: { roleArn: string; sessionName: string; durationSeconds?: number; sessionPolicy?: object },
): Promise<TempCreds> {
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: o.roleArn,
      RoleSessionName: o.sessionName,
      DurationSeconds: o.durationSeconds ?? 3600,
      ...(o.sessionPolicy === undefined ? {} : { Policy: JSON.stringify(o.sessionPolicy) }),
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new Error('rgw AssumeRole answered without complete credentials');
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}
