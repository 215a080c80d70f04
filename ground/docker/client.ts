// Which docker client talks to the engine, and with which environment.
//
// The daemon is Debian's 20.10. Its own client (/usr/bin/docker) builds with
// BuildKit (DOCKER_BUILDKIT=1) or the legacy builder. The newer client first
// on PATH (/usr/local/bin/docker, 28.x) has no buildx plugin: with BuildKit
// asked for it fails, without it falls back to the legacy builder. So every
// call here goes through the 20.10 client when it exists.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type RunOptions, type RunResult, run } from './proc.ts';

const DEBIAN_CLIENT = '/usr/bin/docker';

export function clientBinary(): string {
  return existsSync(DEBIAN_CLIENT) ? DEBIAN_CLIENT : 'docker';
}

/** Variables that point child processes (docker, docker-compose, testcontainers) at the engine. */
export function engineEnv(socket: string, stateDir: string): NodeJS.ProcessEnv {
  return {
    DOCKER_HOST: `unix://${socket}`,
    // Own client config: no credential helpers, nothing written to ~/.docker.
    DOCKER_CONFIG: join(stateDir, 'client-config'),
    // docker-compose 1.29 then builds through the API (legacy builder), which
    // works whatever `docker` is first on PATH.
    COMPOSE_DOCKER_CLI_BUILD: '0',
    // Ryuk's image cannot be pulled here.
    TESTCONTAINERS_RYUK_DISABLED: 'true',
  };
}

export function docker(
  socket: string,
  stateDir: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const env = { ...process.env, ...engineEnv(socket, stateDir), ...opts.env };
  return run([clientBinary(), ...args], { ...opts, env });
}
