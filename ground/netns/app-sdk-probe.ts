// What the application's own SDK experiences, measured from inside a network
// namespace (or container): credentials through the default chain, exactly as
// an app with no credential configuration gets them, then one S3 write/read/
// delete with those credentials. Prints one JSON line (AppSdkOutcome).
//
// CLI: node ground/netns/app-sdk-probe.ts --bucket B [--key-prefix P]
// Reads the same environment the app would (AWS_REGION, AWS_ENDPOINT_URL_S3,
// AWS_EC2_METADATA_V1_DISABLED, …). Refuses to run in the network namespace
// named by S3H_FORBIDDEN_NETNS (the parent's), where the default IMDS address
// could lead to a real metadata service.
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { fromInstanceMetadata, fromNodeProviderChain } from '@aws-sdk/credential-providers';

export interface AppSdkOutcome {
  credentials: {
    ok: boolean;
    /** wall time of the first credential fetch through the default chain */
    ms: number;
    /**
     * The SDK took its IMDSv1 fallback path (it logs "using v1 fallback" when
     * the token PUT fails): with `ok` the credentials came over IMDSv1;
     * without, the fallback was blocked or refused too.
     */
    v1Fallback: boolean;
    errorName?: string;
    errorMessage?: string;
    /**
     * The default chain hides why IMDS failed; on failure the IMDS provider
     * alone is asked once more, only to name the cause (not timed).
     */
    imdsCause?: string;
    /** what the SDK logged (debug and warn), for post-mortems */
    log: string[];
  };
  /** absent when no credentials were obtained */
  s3?: { ok: boolean; ms: number; errorName?: string; httpStatus?: number };
}

function errorFields(e: unknown): { errorName: string; errorMessage: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { errorName: err.name, errorMessage: err.message.slice(0, 200) };
}

async function probeS3(
  credentials: ReturnType<typeof fromNodeProviderChain>,
  bucket: string,
  key: string,
): Promise<NonNullable<AppSdkOutcome['s3']>> {
  // Endpoint and region come from the environment, as for the app.
  const s3 = new S3Client({
    credentials,
    forcePathStyle: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const t0 = performance.now();
  try {
    const body = randomBytes(64);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array()));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    if (!bytes.equals(body))
      return { ok: false, ms: performance.now() - t0, errorName: 'Mismatch' };
    return { ok: true, ms: performance.now() - t0 };
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return {
      ok: false,
      ms: performance.now() - t0,
      errorName: errorFields(e).errorName,
      ...(status === undefined ? {} : { httpStatus: status }),
    };
  } finally {
    s3.destroy();
  }
}

async function imdsCause(): Promise<string> {
  try {
    await fromInstanceMetadata()();
    return 'none: IMDS answered on a second try';
  } catch (e) {
    const status = (e as { statusCode?: unknown }).statusCode;
    const { errorName, errorMessage } = errorFields(e);
    return `${errorName}${typeof status === 'number' ? ` ${status}` : ''}: ${errorMessage.slice(0, 120)}`;
  }
}

export async function probeApp(bucket: string, keyPrefix: string): Promise<AppSdkOutcome> {
  const debug: string[] = [];
  const note = (...a: unknown[]) => debug.push(a.map(String).join(' '));
  const logger = { debug: note, info: () => {}, warn: note, error: () => {} };
  const provider = fromNodeProviderChain({ logger });
  const t0 = performance.now();
  try {
    await provider();
  } catch (e) {
    const ms = performance.now() - t0;
    return {
      credentials: {
        ok: false,
        ms,
        imdsCause: await imdsCause(),
        v1Fallback: debug.some((l) => /using v1 fallback/.test(l)),
        ...errorFields(e),
        log: debug.slice(-30),
      },
    };
  }
  const ms = performance.now() - t0;
  const v1Fallback = debug.some((l) => /using v1 fallback/.test(l));
  const key = `${keyPrefix}${randomBytes(6).toString('hex')}`;
  return {
    credentials: { ok: true, ms, v1Fallback, log: debug.slice(-30) },
    s3: await probeS3(provider, bucket, key),
  };
}

async function main(): Promise<void> {
  const forbidden = process.env.S3H_FORBIDDEN_NETNS;
  if (forbidden !== undefined && readlinkSync('/proc/self/ns/net') === forbidden) {
    process.stderr.write('app-sdk-probe: refusing to run in the forbidden network namespace\n');
    process.exit(3);
  }
  const { values } = parseArgs({
    options: {
      bucket: { type: 'string' },
      'key-prefix': { type: 'string', default: 'app-probe/' },
    },
    strict: true,
  });
  if (!values.bucket) throw new Error('--bucket needed');
  const outcome = await probeApp(values.bucket, values['key-prefix']);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`app-sdk-probe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
