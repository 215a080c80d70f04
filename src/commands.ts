// The commands behind the bin (src/cli.ts loads this after it has settled
// V8's limits and the compile cache).
import { parseArgs } from 'node:util';
import { CLI_OPTIONS, USAGE } from './cli-options.ts';
import { EXIT_CONFIG, formatProblems, parseConfig } from './config/parse.ts';
import { redactConfig } from './config/redact.ts';

// Commands import what they need when they run: `check` is the Docker
// HEALTHCHECK, run every few seconds, and must not load the AWS SDK.

process.report.excludeEnv = true;

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
      options: CLI_OPTIONS,
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
