import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Formats a written results file with the project's one formatter, so that
 * committing what the bench (or the fleet run) wrote keeps `npm test`'s
 * `biome check` clean. A formatting failure is reported, never fatal: the
 * figures are already on disk.
 */
export function formatMarkdown(root: string, file: string): void {
  const biome = join(root, 'node_modules', '.bin', 'biome');
  const r = spawnSync(biome, ['format', '--write', file], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`biome could not format ${file}: ${r.stderr || r.error?.message}\n`);
  }
}
