import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDependencies, keepTypeImports } from '../../scripts/dependency-rules.ts';

const REPO = join(import.meta.dirname, '..', '..');
const copies: string[] = [];

/** A copy of src/ with one file changed, as a contributor's working tree would be. */
async function srcWith(file: string, edit: (text: string) => string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 's3h-deps-test-'));
  copies.push(root);
  await cp(join(REPO, 'src'), join(root, 'src'), { recursive: true });
  const path = join(root, 'src', file);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return root;
}

/** A copy of ground/ with one file changed. */
async function groundWith(file: string, edit: (text: string) => string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 's3h-deps-test-'));
  copies.push(root);
  await cp(join(REPO, 'ground'), join(root, 'ground'), { recursive: true });
  const path = join(root, 'ground', file);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return root;
}

afterEach(async () => {
  for (const root of copies.splice(0)) await rm(root, { recursive: true, force: true });
});

describe('import rules of src/ and ground/ (npm run lint)', () => {
  it('the landed src/ and ground/ have no cycle and no upward import', async () => {
    const report = await checkDependencies(REPO);
    expect(report.violations).toEqual([]);
    // src/ and ground/ are both cruised.
    expect(report.modules).toBeGreaterThan(100);
    expect(report.modules).toBeGreaterThan(50);
  });

  it('fails on an upward import: the vocabulary reaching into the engine', async () => {
    const root = await srcWith(
      'model/diagnose.ts',
      (t) => `import type { HealthStore } from '../engine/store.ts';\n${t}`,
    );
    const report = await checkDependencies(root);
    expect(report.violations).toContainEqual({
      rule: 'model-is-a-leaf',
      from: 'src/model/diagnose.js',
      to: 'src/engine/store.js',
    });
    expect(report.upward).toBeGreaterThan(0);
  });

  it('fails on a cycle, even one made only of type imports', async () => {
    // checks/deps.ts imports aws/clients.ts; this closes the circle.
    const root = await srcWith(
      'aws/clients.ts',
      (t) =>
        `import type { ProbeDeps } from '../checks/deps.ts';\nexport type D = ProbeDeps;\n${t}`,
    );
    const report = await checkDependencies(root);
    expect(report.cycles).toBeGreaterThan(0);
    expect(report.violations.map((v) => v.rule)).toContain('no-upward-from-aws');
  });

  it('fails when ground/shared/ imports a peer, and on the cycle that closes', async () => {
    // docker/proc.ts imports shared/process.ts; this closes the circle.
    const root = await groundWith(
      'shared/process.ts',
      (t) =>
        `import type { RunResult } from '../docker/proc.ts';\nexport type R = RunResult;\n${t}`,
    );
    const report = await checkDependencies(root);
    expect(report.violations).toContainEqual({
      rule: 'ground-shared-is-a-leaf',
      from: 'ground/shared/process.js',
      to: 'ground/docker/proc.js',
    });
    expect(report.cycles).toBeGreaterThan(0);
  });

  it('fails on a module of src/ outside every layer', async () => {
    const root = await srcWith('version.ts', (t) => t);
    await writeFile(
      join(root, 'src', 'stray.ts'),
      "import { CHECK_NAMES } from './model/check.ts';\nexport const n = CHECK_NAMES.length;\n",
    );
    const report = await checkDependencies(root);
    expect(report.violations).toContainEqual({
      rule: 'src-module-in-a-layer',
      from: 'src/stray.js',
      to: 'src/model/check.js',
    });
  });

  it('keeps type-only imports as edges when stripping types', () => {
    expect(keepTypeImports("import type { A, B } from './a.ts';")).toBe(
      "import { A, B } from './a.ts';",
    );
    expect(keepTypeImports("import { type A, b, type C } from './a.ts';")).toBe(
      "import { A, b, C } from './a.ts';",
    );
    expect(keepTypeImports("export type { Row } from './rows.ts';")).toBe(
      "export { Row } from './rows.ts';",
    );
  });
});
