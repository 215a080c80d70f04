// `npm run build`: the whole program as one ES module, dist/commands.js, with
// every dependency inside, and the bin, dist/cli.js: a few lines that settle
// V8's limits and the compile cache before they load it (src/cli.ts). One file
// to parse instead of ~900 modules to resolve, read and link is most of the
// start-up gain (bench/startup.ts measures it); the image ships these files
// and no node_modules at all. `tsc` only typechecks (`npm run typecheck`).
//
//   node scripts/build.ts [OUTFILE]      # default dist/cli.js (dist/commands.js beside it)
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BundleResult {
  outfile: string;
  bytes: number;
  /** npm packages inside the bundle */
  packages: string[];
}

/**
 * Bundles src/cli.ts into `outfile` and src/commands.ts beside it, and the
 * licences of what they contain. `bytes` counts both files.
 */
export async function bundle(outfile = join(ROOT, 'dist', 'cli.js')): Promise<BundleResult> {
  const commands = join(dirname(outfile), 'commands.js');
  const result = await build({
    entryPoints: [
      { in: join(ROOT, 'src', 'cli.ts'), out: basename(outfile, '.js') },
      { in: join(ROOT, 'src', 'commands.ts'), out: 'commands' },
    ],
    outdir: dirname(outfile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // The SDK's ES builds tree-shake and keep its lazy `import()` of each
    // credential provider lazy; CommonJS builds would load every provider.
    mainFields: ['module', 'main'],
    // Whitespace and syntax only: names stay, so stack traces and the SDK's
    // `constructor.name` checks read as in the sources.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // CommonJS dependencies call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __s3hRequire } from 'node:module'; const require = __s3hRequire(import.meta.url);",
    },
  });
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1]) packages.add(m[1]);
  }
  const sorted = [...packages].sort();
  writeFileSync(join(dirname(outfile), 'licenses.txt'), licences(sorted));
  // The package's `bin`: executable through its shebang.
  chmodSync(outfile, 0o755);
  const bytes = readFileSync(outfile).length + readFileSync(commands).length;
  return { outfile, bytes, packages: sorted };
}

/** The licence text of every bundled package: their licences ask that it travel with the code. */
function licences(packages: string[]): string {
  const parts = packages.map((name) => {
    const dir = join(ROOT, 'node_modules', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      version?: string;
      license?: string;
    };
    let text = `(licence: ${pkg.license ?? 'see package'})`;
    for (const f of ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE']) {
      try {
        text = readFileSync(join(dir, f), 'utf8').trim();
        break;
      } catch {}
    }
    return `${name}@${pkg.version ?? '?'}\n\n${text}\n`;
  });
  return `Packages bundled into commands.js, with their licences.\n\n${parts.join(`\n${'-'.repeat(72)}\n\n`)}`;
}

if (import.meta.main) {
  const out = process.argv[2];
  const r = await bundle(out === undefined ? undefined : join(process.cwd(), out));
  process.stdout.write(
    `${relative(process.cwd(), r.outfile)}: ${(r.bytes / 1e6).toFixed(2)} MB, ${r.packages.length} packages\n`,
  );
}
