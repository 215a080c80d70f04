// The sidecar as a user runs it: `s3-health serve` is `node dist/cli.js serve`,
// the one bundled file `npm run build` writes (scripts/build.ts). The bench
// builds it from the working tree into bench/out, with package.json beside
// it as in the image (the bundle reads its version from ../package.json).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundle } from '../scripts/build.ts';
import { ROOT } from './procs.ts';

export async function prepareServeBundle(): Promise<{ script: string; bytes: number }> {
  const dir = join(ROOT, 'bench', 'out', 'bundle');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'dist'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  const built = await bundle(join(dir, 'dist', 'cli.js'));
  return { script: built.outfile, bytes: built.bytes };
}
