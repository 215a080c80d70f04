#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { EXIT_CONFIG, formatProblems, parseConfig } from './config/parse.ts';
import { redactConfig } from './config/redact.ts';
import { heapFlagsToAdd } from './heap-limits.ts';

// Commands import what they need when they run: `check` is the Docker
// HEALTHCHECK, run every few seconds, and must not load the AWS SDK.

process.report.excludeEnv = true;

const USAGE = `usage: s3-health [serve | check [--url URL] | diagnose [--json] | config]
  serve      run the service (default)
  check      exit 0 when /healthz answers 200, else 1 (Docker HEALTHCHECK)
  diagnose   run every check once in-process; exit 0 pass, 1 warn, 2 fail, 3 could not run
  config     print the resolved configuration (redacted) and every problem with it
`;

/**
 * A long-lived `serve` started without V8 limits replaces itself (execve: same
 * PID, so signals and the container's init are unaffected, and no second
 * process) with the same command plus HEAP_FLAGS. The caller's own flags win.
 */
function withOwnHeapLimits(): void {
  const add = heapFlagsToAdd(process.execArgv, process.env.NODE_OPTIONS);
  const script = process.argv[1];
  if (add.length === 0 || script === undefined || process.execve === undefined) return;
  process.execve(process.execPath, [
    process.execPath,
    ...add,
    ...process.execArgv,
    script,
    ...process.argv.slice(2),
  ]);
}

/** Docker keeps 4096 bytes of healthcheck output; one short line is plenty. */
async function check(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = await res.text();
    process.stdout.write(`${res.status} ${body.slice(0, 200)}\n`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    process.stdout.write(`unreachable: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function diagnose(json: boolean): Promise<number> {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    process.stderr.write(`${formatProblems(parsed.problems)}\n`);
    return 3;
  }
  const [{ createDeps }, { createDiagnoser }, report, { readVersion }] = await Promise.all([
    import('./checks/create-deps.ts'),
    import('./engine/diagnose-run.ts'),
    import('./report/diagnose.ts'),
    import('./version.ts'),
  ]);
  const { exitCodeFor, renderDiagnoseJson, renderDiagnoseText } = report;
  const quiet = { warn: () => {}, debug: () => {} };
  const deps = createDeps(parsed.config, quiet, true);
  try {
    const report = await createDiagnoser(parsed.config, deps, readVersion())();
    process.stdout.write(
      json
        ? `${JSON.stringify(renderDiagnoseJson(report), null, 2)}\n`
        : renderDiagnoseText(report),
    );
    return exitCodeFor(report.status);
  } catch (err) {
    process.stderr.write(
      `diagnose could not run: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 3;
  } finally {
    deps.clients.destroy();
  }
}

function config(): number {
  const parsed = parseConfig(process.env);
  if (!parsed.ok) {
    process.stdout.write(`${formatProblems(parsed.problems)}\n`);
    return EXIT_CONFIG;
  }
  process.stdout.write(`${JSON.stringify(redactConfig(parsed.config), null, 2)}\n`);
  return 0;
}

async function main(argv: string[]): Promise<void> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(64);
  }
  const [command = 'serve', ...rest] = args.positionals;
  if (args.values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (rest.length > 0) {
    process.stderr.write(`unexpected argument: ${rest[0]}\n${USAGE}`);
    process.exit(64);
  }
  switch (command) {
    case 'serve':
      withOwnHeapLimits();
      await (await import('./main.ts')).serve();
      return;
    case 'check': {
      const parsed = parseConfig(process.env);
      const port = parsed.ok ? parsed.config.port : 8080;
      const url =
        typeof args.values.url === 'string' ? args.values.url : `http://127.0.0.1:${port}/healthz`;
      process.exit(await check(url));
      return;
    }
    case 'diagnose':
      process.exit(await diagnose(args.values.json === true));
      return;
    case 'config':
      process.exit(config());
      return;
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}`);
      process.exit(64);
  }
}

await main(process.argv.slice(2));
