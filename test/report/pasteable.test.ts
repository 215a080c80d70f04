// Fixes proven pasteable (issue 12, SPEC §7): every reason's fix, in every
// branch, rendered with the values of a real account held by moto_server, then
// pasted into bash as on-call would. Every `aws …` command runs through the
// machine's real AWS CLI against moto; where moto cannot answer, awscli's own
// parser and validator check it. Fails loudly when aws or moto_server is missing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASONS } from '../../src/model/reasons.ts';
import { type Render, renderAll } from '../pasteable/cases.ts';
import { type CommandResult, paste, script, shown } from '../pasteable/paste.ts';
import { policyKind, s3ResourceViolations } from '../pasteable/policy-rules.ts';
import { awsCommands, bashSyntax, placeholders, runnable } from '../pasteable/shell.ts';
import { MOTO_CANNOT, type Moto, PINNED, startMoto } from '../pasteable/world.ts';

/** The README's figures ("Fixes are pasteable"): the same bounds, asserted here. */
const README_BOUNDS = { minDistinctCommands: 50, maxMotoCannot: 7 };

let moto: Moto;
let renders: Render[];
const t0 = Date.now();

beforeAll(async () => {
  moto = await startMoto();
  renders = renderAll(moto.world);
}, 90_000);

afterAll(() => {
  moto?.stop();
});

function shellBlocks(): { reason: string; text: string }[] {
  const seen = new Map<string, string>();
  for (const r of renders)
    for (const b of r.blocks)
      if (b.kind === 'shell' && !seen.has(b.text)) seen.set(b.text, r.reason);
  return [...seen].map(([text, reason]) => ({ reason, text }));
}

describe('fixes are pasteable', () => {
  it('the README states the bounds this tier asserts', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### Fixes are pasteable');
    expect(start).toBeGreaterThan(-1);
    const para = readme.slice(start, readme.indexOf('\n### ', start + 1)).replace(/\s+/g, ' ');
    expect(para).toContain(
      `at least ${README_BOUNDS.minDistinctCommands} distinct aws commands, none failing, with at most ${README_BOUNDS.maxMotoCannot} operations moto cannot run`,
    );
  });

  it('renders every reason, in every branch its row takes', () => {
    const covered = new Set(renders.map((r) => r.reason));
    expect(REASONS.filter((r) => !covered.has(r))).toEqual([]);
    expect(renders.length).toBeGreaterThan(REASONS.length);
  });

  it('every shell block passes bash -n, as JSON carries it and as the text report wraps it', () => {
    const bad = shellBlocks()
      .flatMap((b) => [b.text, shown(b.text).join('\n')].map((text) => ({ ...b, text })))
      .map((b) => ({ ...b, error: bashSyntax(b.text) }))
      .filter((b) => b.error !== undefined);
    expect(bad).toEqual([]);
  });

  it('no <PLACEHOLDER> in a shell block: a known value is filled, an unknown one is a shell variable', () => {
    const bad = shellBlocks()
      .map((b) => ({ ...b, placeholders: placeholders(b.text) }))
      .filter((b) => b.placeholders.length > 0);
    expect(bad).toEqual([]);
  });

  it('a placeholder outside shell blocks (an env file line) follows the command that finds its value', () => {
    const bad = renders.flatMap((r) => {
      const firstShell = r.blocks.findIndex(
        (b) => b.kind === 'shell' && awsCommands(b.text).length > 0,
      );
      return r.blocks
        .map((b, i) => ({ b, i }))
        .filter(
          ({ b, i }) =>
            b.kind !== 'shell' &&
            placeholders(b.text).length > 0 &&
            (firstShell === -1 || firstShell > i),
        )
        .map(({ b }) => `${r.reason} [${r.variants.join(', ')}]: ${b.text}`);
    });
    expect(bad).toEqual([]);
  });

  it('every aws command sits in a block the tier can run (no aws mixed with docker, kubectl…)', () => {
    const mixed = shellBlocks().filter((b) => awsCommands(b.text).length > 0 && !runnable(b.text));
    expect(mixed).toEqual([]);
  });

  it('`--output text` written to a file selects one field with --query', () => {
    const bad = shellBlocks()
      .flatMap((b) => awsCommands(b.text).map((c) => ({ c, block: b.text })))
      .filter(({ c }) => /--output text/.test(c) && !/--query/.test(c) && /\s>\s*\S/.test(c));
    expect(bad).toEqual([]);
  });

  it('S3 statements: bucket-level actions name the bucket ARN, object-level actions a prefix/*', () => {
    const bad = renders.flatMap((r) =>
      r.blocks
        .filter((b) => b.kind === 'json')
        .flatMap((b) => s3ResourceViolations(JSON.parse(b.text), moto.world.bucket))
        .map((v) => `${r.reason} [${r.variants.join(', ')}]: ${v}`),
    );
    expect([...new Set(bad)]).toEqual([]);
  });

  it("every policy document parses and moto's IAM/KMS accept it", () => {
    const docs = new Map<string, unknown>();
    for (const r of renders)
      for (const b of r.blocks) if (b.kind === 'json') docs.set(b.text, JSON.parse(b.text));
    const items = [...docs.values()]
      .map((doc) => ({ kind: policyKind(doc as never), doc }))
      .filter((d) => d.kind !== 'other');
    const res = spawnSync(
      moto.peers.python,
      [new URL('../pasteable/moto-accept.py', import.meta.url).pathname, moto.world.keyArn],
      { input: JSON.stringify(items), encoding: 'utf8', env: moto.env('/nonexistent') },
    );
    expect(res.stderr).toBe('');
    const out = JSON.parse(res.stdout) as { ok: boolean; error: string }[];
    const rejected = items
      .map((it, i) => ({ kind: it.kind, doc: JSON.stringify(it.doc), ...out[i] }))
      .filter((x) => !x.ok);
    expect(rejected).toEqual([]);
    expect(items.map((i) => i.kind)).toEqual(
      expect.arrayContaining(['identity', 'trust', 'key-statement']),
    );
  });

  it('moto and awscli are the versions the list of operations moto cannot run was made for', () => {
    const r = spawnSync(
      moto.peers.python,
      ['-c', 'import moto, awscli; print(moto.__version__, awscli.__version__)'],
      { encoding: 'utf8' },
    );
    const [motoVersion, awscliVersion] = r.stdout.trim().split(' ');
    expect({ moto: motoVersion, awscli: awscliVersion }).toEqual(PINNED);
    const install = readFileSync(
      new URL('../../scripts/install-peers.sh', import.meta.url),
      'utf8',
    );
    expect(install).toContain(`'moto[server]==${PINNED.moto}' 'awscli==${PINNED.awscli}'`);
  });

  it('every aws command runs against moto_server, or passes awscli validation where moto cannot', async () => {
    // Values a real cluster would give the kubectl finders the tier cannot run, and the
    // one choice a fix leaves to the operator (which instance profile is the app's).
    const choices: Record<string, string> = {
      NAMESPACE: 'kb',
      SERVICE_ACCOUNT: 's3-health',
      PROFILE: moto.world.appRole,
    };
    const results = new Map<string, CommandResult[]>();
    const problems: string[] = [];
    // Renders that differ only in prose or in blocks the tier cannot run paste the same script.
    const unique = new Map<string, Render>();
    for (const r of renders) {
      const key = script(r.blocks, choices).text;
      if (
        !unique.has(key) &&
        r.blocks.some((b) => b.kind === 'shell' && awsCommands(b.text).length > 0)
      )
        unique.set(key, r);
    }
    const queue = [...unique.values()];
    // Two pastes at a time: the machine is shared, and awscli starts in ~0.5 s.
    const pastes = queue.length;
    let calls = 0;
    const worker = async () => {
      for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
        const out = await paste(r.blocks, moto.env, choices);
        calls += out.commands.length;
        for (const p of out.problems) problems.push(`${r.reason}: ${p}`);
        for (const c of out.commands) {
          const seen = results.get(c.command) ?? [];
          seen.push(c);
          results.set(c.command, seen);
        }
      }
    };
    await Promise.all([worker(), worker()]);

    const worst = (rs: CommandResult[]): CommandResult =>
      rs.find((x) => x.outcome === 'unreached') ??
      rs.find((x) => x.outcome === 'failed') ??
      rs.find((x) => x.outcome === 'dry') ??
      (rs[0] as CommandResult);
    const table = [...results.values()].map(worst);
    const count = (o: string) => table.filter((c) => c.outcome === o).length;
    const dryOps = [
      ...new Set(table.filter((c) => c.outcome === 'dry').map((c) => opOf(c.command))),
    ];
    const lines = [
      `[pasteable] ${table.length} distinct aws commands: ${count('ran')} ran against moto_server, ${count('dry')} passed awscli validation (moto cannot run them), ${count('failed')} failed, ${count('unreached')} never reached aws (${pastes} fixes pasted, ${calls} aws calls, each run for real, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      ...dryOps.map((op) => `[pasteable] moto cannot run ${op}: ${MOTO_CANNOT[op] ?? '?'}`),
      ...table
        .filter((c) => c.outcome === 'dry')
        .map((c) => `[pasteable]   dry: ${c.command}  (moto: ${c.moto ?? ''})`),
      ...table
        .filter((c) => c.outcome === 'failed' || c.outcome === 'unreached')
        .map((c) => `[pasteable] ${c.outcome.toUpperCase()}: ${c.command}\n    ${c.error ?? ''}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    expect(problems).toEqual([]);
    expect(table.filter((c) => c.outcome === 'failed' || c.outcome === 'unreached')).toEqual([]);
    // Each operation listed as beyond moto really is: moto refused it when sent.
    for (const c of table.filter((x) => x.outcome === 'dry'))
      expect(c.moto).not.toMatch(/^exit 0:/);
    expect(table.length).toBeGreaterThanOrEqual(README_BOUNDS.minDistinctCommands);
    expect(dryOps.length).toBeLessThanOrEqual(README_BOUNDS.maxMotoCannot);
  }, 600_000);
});

function opOf(command: string): string {
  const [, svc, op] = command.split(/\s+/);
  return `${svc}:${op}`;
}
