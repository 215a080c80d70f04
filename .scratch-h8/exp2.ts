import { writeFileSync } from 'node:fs';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startStsEndpoint } from '../ground/sts-endpoint.ts';
import { serveWebIdentity } from '../ground/sts-web-identity.ts';
import { fakeCredentialSource } from '../ground/imds-credentials.ts';

process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = 'http://127.0.0.1:9';
process.env.AWS_CONFIG_FILE = '/nonexistent/c';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/c2';
const sts = await startStsEndpoint();
const wi = serveWebIdentity(sts, { credentials: fakeCredentialSource });
const roleArn = 'arn:aws:iam::123456789012:role/s3-health-irsa';
wi.trust({ roleArn, issuer: wi.issuer, namespace: 'apps', serviceAccount: 's3-health' });
process.env.AWS_ENDPOINT_URL_STS = sts.url;
process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_ROLE_ARN = roleArn;
process.env.AWS_WEB_IDENTITY_TOKEN_FILE = '/tmp/h8wi';
const logger = { debug: () => {}, info: () => {}, warn: (...a: unknown[]) => console.log('WARN', ...a), error: (...a: unknown[]) => console.log('ERR', ...a) };
async function run(label: string) {
  const t0 = Date.now();
  try {
    const c = await fromNodeProviderChain({ logger })();
    console.log(label, 'OK', (c as any).$source, (c as any).accountId, Date.now() - t0);
    const id = await new STSClient({ credentials: c }).send(new GetCallerIdentityCommand({}));
    console.log('  caller', id.Arn);
  } catch (e: any) {
    console.log(label, 'FAIL', e.name, e.Code, e.code, JSON.stringify(e.message), e.$metadata?.httpStatusCode, e.$metadata?.requestId, e.tryNextLink, Date.now() - t0);
  }
}
writeFileSync('/tmp/h8wi', wi.issueToken()); await run('ok');
writeFileSync('/tmp/h8wi', wi.issueToken({ serviceAccount: 'other' })); await run('denied');
writeFileSync('/tmp/h8wi', wi.issueToken({ expiresInSeconds: -60 })); await run('expired');
writeFileSync('/tmp/h8wi', wi.issueToken({ audience: 'x' })); await run('aud');
writeFileSync('/tmp/h8wi', wi.issueToken({ issuer: 'https://oidc.example/id/X' })); await run('noprov');
writeFileSync('/tmp/h8wi', 'garbage'); await run('garbage');
writeFileSync('/tmp/h8wi', wi.issueToken() + '\n'); await run('newline');
wi.setFault('idp-unreachable'); writeFileSync('/tmp/h8wi', wi.issueToken()); await run('idp'); wi.setFault('none');
sts.setFault('error500'); await run('500'); sts.setFault('none');
process.env.AWS_WEB_IDENTITY_TOKEN_FILE = '/tmp/h8none'; await run('nofile');
delete process.env.AWS_ROLE_ARN; await run('norole');
console.log(wi.calls());
await sts.close();
