// Runs in every test process before any test: no test may reach EC2's real
// metadata addresses, and nothing from the developer's machine (keys,
// profiles, proxies) may leak into what the SDK resolves. Processes the tests
// spawn get the same guard by `--import` (GUARD_NODE_ARGS).
import { installNetworkGuard } from '../../ground/shared/network-guard.ts';

installNetworkGuard('a test');

for (const name of Object.keys(process.env)) {
  if (
    /^AWS_/.test(name) ||
    /^(HTTPS?|NO|ALL)_PROXY$/i.test(name) ||
    name.startsWith('S3_HEALTH_')
  ) {
    delete process.env[name];
  }
}
// A closed port on loopback: anything that still asks IMDS gets ECONNREFUSED at once.
process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = 'http://127.0.0.1:9';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/s3-health-test/credentials';
process.env.AWS_CONFIG_FILE = '/nonexistent/s3-health-test/config';
