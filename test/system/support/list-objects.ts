// Lists a bucket's keys below a prefix with the instance role's credentials,
// from inside a namespace of the simulated EC2 host: proves what the sidecar
// containers left behind. Endpoint and region come from the environment.
//
// CLI: node test/system/support/list-objects.ts --bucket B --prefix P
// Prints one JSON line: {"keys": [...]}. Refuses to run in the namespace named
// by S3H_FORBIDDEN_NETNS (the test's own), where IMDS could be the real one.
import { readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const forbidden = process.env.S3H_FORBIDDEN_NETNS;
if (forbidden === undefined || readlinkSync('/proc/self/ns/net') === forbidden) {
  process.stderr.write('list-objects: not inside a simulated instance namespace; refusing\n');
  process.exit(2);
}

const { values } = parseArgs({
  options: { bucket: { type: 'string' }, prefix: { type: 'string', default: '' } },
  strict: true,
});
if (values.bucket === undefined) throw new Error('--bucket needed');

const s3 = new S3Client({ forcePathStyle: true });
const keys: string[] = [];
let token: string | undefined;
try {
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: values.bucket,
        Prefix: values.prefix,
        ContinuationToken: token,
      }),
      { abortSignal: AbortSignal.timeout(15_000) },
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
} finally {
  s3.destroy();
}
process.stdout.write(`${JSON.stringify({ keys })}\n`);
