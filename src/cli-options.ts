import type { ParseArgsOptionsConfig } from 'node:util';

/** The bin's options, read by the launcher (src/cli.ts) and by the commands (src/commands.ts). */
export const CLI_OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsOptionsConfig;

export const USAGE = `usage: s3-health [serve | check [--url URL] | diagnose [--json] | config]
  serve      run the service (default)
  check      exit 0 when /healthz answers 200, else 1 (Docker HEALTHCHECK)
  diagnose   run every check once in-process; exit 0 pass, 1 warn, 2 fail, 3 could not run
  config     print the resolved configuration (redacted) and every problem with it
`;
