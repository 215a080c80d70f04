// The IMDS baseline: one credential resolution by the AWS SDK's default
// chain, as the application does on each refresh. Run with a lane's env.
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

const creds = await fromNodeProviderChain()();
process.stdout.write(`${creds.accessKeyId ? 'resolved' : 'none'}\n`);
