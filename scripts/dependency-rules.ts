// Checks src/ and ground/ against the import rules in .dependency-cruiser.cjs
// (no cycles, arrows only downward). dependency-cruiser parses TypeScript only through
// typescript < 7, which this project does not use, so it cruises a copy of
// both turned into plain JavaScript by Node's own type stripper. Type-only
// imports are rewritten into value imports first: a type import is a real
// arrow between modules and must count.
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire, stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface RuleViolation {
  rule: string;
  from: string;
  to: string;
  /** For a cycle: the modules around it. */
  cycle?: string[];
}

export interface DependencyReport {
  modules: number;
  dependencies: number;
  violations: RuleViolation[];
  cycles: number;
  upward: number;
}

/** `import type { A }` and `import { type A, B }` as value imports, so the stripper keeps them. */
export function keepTypeImports(source: string): string {
  return source.replace(
    /^(import|export)(\s+type)?(\s*\{)([^}]*)(\}\s*from\s*'[^']+';)/gm,
    (_m, kw: string, _type: string | undefined, open: string, names: string, tail: string) =>
      `${kw}${open}${names.replace(/(^|[\s,{])type\s+(?=[A-Za-z_$])/g, '$1')}${tail}`,
  );
}

/** Relative `.ts` specifiers point at the `.js` files of the copy. */
function retarget(source: string): string {
  return source.replace(/(['"])(\.{1,2}\/[^'"]*?)\.ts\1/g, '$1$2.js$1');
}

/** Node flags its type stripper as experimental on every first use; that is known here. */
function quietly<T>(work: () => T): T {
  const emit = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return work();
  } finally {
    process.emitWarning = emit;
  }
}

async function copyAsJs(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    if (entry.isDirectory()) {
      await copyAsJs(src, join(to, entry.name));
    } else if (entry.name.endsWith('.ts')) {
      const source = await readFile(src, 'utf8');
      const js = quietly(() => stripTypeScriptTypes(keepTypeImports(source)));
      await mkdir(to, { recursive: true });
      await writeFile(join(to, entry.name.replace(/\.ts$/, '.js')), retarget(js));
    }
  }
}

function loadRules(configFile: string): {
  forbidden: IForbiddenRuleType[];
  options: Record<string, unknown>;
} {
  return createRequire(import.meta.url)(configFile);
}

/** The folders cruised: the product and the ground it is verified against. */
const CRUISED = ['src', 'ground'] as const;

async function present(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of CRUISED) {
    if (
      await access(join(root, dir)).then(
        () => true,
        () => false,
      )
    )
      found.push(dir);
  }
  return found;
}

/** Cruises `<root>/src` and `<root>/ground` with the repository's rules (or `configFile`). */
export async function checkDependencies(
  root: string = REPO,
  configFile: string = join(REPO, '.dependency-cruiser.cjs'),
): Promise<DependencyReport> {
  const work = await mkdtemp(join(tmpdir(), 's3h-deps-'));
  try {
    const dirs = await present(root);
    for (const dir of dirs) await copyAsJs(join(root, dir), join(work, dir));
    const rules = loadRules(configFile);
    const out = await cruise(dirs, {
      ...rules.options,
      baseDir: work,
      validate: true,
      ruleSet: { forbidden: rules.forbidden },
      outputType: 'json',
    });
    const result = (
      typeof out.output === 'string' ? JSON.parse(out.output) : out.output
    ) as ICruiseResult;
    const violations = result.summary.violations.map((v) => ({
      rule: v.rule.name,
      from: v.from,
      to: v.to,
      ...(v.cycle ? { cycle: v.cycle.map((c) => c.name) } : {}),
    }));
    return {
      modules: result.summary.totalCruised,
      dependencies: result.summary.totalDependenciesCruised ?? 0,
      violations,
      cycles: violations.filter((v) => v.rule === 'no-circular').length,
      upward: violations.filter((v) => v.rule !== 'no-circular').length,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function describe(v: RuleViolation): string {
  const arrow = v.cycle ? [v.from, ...v.cycle].join(' -> ') : `${v.from} -> ${v.to}`;
  return `  ${v.rule}: ${arrow}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? REPO;
  const report = await checkDependencies(root);
  const where = CRUISED.map((d) => relative(process.cwd(), join(root, d)) || d).join(' + ');
  if (report.violations.length > 0) {
    console.error(`[deps] ${where}: ${report.violations.length} import rule violation(s)`);
    for (const v of report.violations) console.error(describe(v));
  }
  console.log(
    `[deps] ${where}: ${report.modules} modules, ${report.dependencies} imports, ` +
      `${report.cycles} cycle(s), ${report.upward} upward import(s)`,
  );
  process.exitCode = report.violations.length > 0 ? 1 : 0;
}
