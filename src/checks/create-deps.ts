import { boardInstanceId } from '../aws/board-asset-tag.ts';
import { ClientPool, CredentialHolder } from '../aws/clients.ts';
import { resolveDefaultChain, type WarnLogger } from '../aws/credential-chain.ts';
import { ImdsClient, imdsEndpoint } from '../aws/imds-client.ts';
import { OwnKeys } from '../aws/own-keys.ts';
import type { Config } from '../model/config.ts';
import type { ProbeDeps } from './deps.ts';

/** One set of clients and state per prober (the scheduler's, /diagnose's), never shared. */
export function createDeps(config: Config, logger: WarnLogger, deep = false): ProbeDeps {
  const holder = new CredentialHolder();
  return {
    imds: new ImdsClient({ endpoint: imdsEndpoint(config.aws) }),
    clients: new ClientPool(config, holder),
    holder,
    ownKeys: new OwnKeys(),
    resolveCredentials: () => resolveDefaultChain(config.aws, logger),
    instanceIdWithoutImds: () => boardInstanceId(),
    leftovers: { swept: deep, since: Date.now() },
    kmsAliases: new Map(),
    now: Date.now,
    deep,
  };
}
