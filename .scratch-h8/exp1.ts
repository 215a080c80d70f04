import { writeFileSync } from 'node:fs';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { startContainerCredentials } from '../ground/container-credentials.ts';

process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = 'http://127.0.0.1:9';
process.env.AWS_CONFIG_FILE = '/nonexistent/c';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/c2';
const ep = await startContainerCredentials();
const logger = { debug: () => {}, info: () => {}, warn: (...a: unknown[]) => console.log('WARN', ...a), error: (...a: unknown[]) => console.log('ERR', ...a) };
async function run(label: string) {
  const t0 = Date.now();
  try {
    const c = await fromNodeProviderChain({ logger })();
    console.log(label, 'OK', Object.keys(c), (c as any).$source, Date.now() - t0);
  } catch (e: any) {
    console.log(label, 'FAIL', e.name, JSON.stringify(e.message), e.tryNextLink, e.Code, e.statusCode, Date.now() - t0);
  }
}
process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = ep.ecsUrl;
await run('ecs-ok');
ep.setFault('unknown-id'); await run('ecs-unknown');
ep.setFault('none');
process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = ep.podIdentityUrl;
writeFileSync('/tmp/h8tok', ep.issueToken());
process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = '/tmp/h8tok';
await run('pod-ok');
ep.setFault('no-association'); await run('pod-noassoc');
ep.setFault('none');
writeFileSync('/tmp/h8tok', ep.issueToken() + '\n'); await run('pod-newline');
writeFileSync('/tmp/h8tok', ep.issueToken() + '\r\n'); await run('pod-crlf');
process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = '/tmp/h8none'; await run('pod-nofile');
process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = 'http://10.1.2.3/v1/credentials'; await run('badurl');
process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = 'http://127.0.0.1:1/v1/credentials'; await run('refused');
console.log(ep.requests().map(r => r.status + ' ' + r.path + ' ' + (r.authorization?.length)));
await ep.close();
