import { readFileSync } from 'node:fs';

/** From package.json one level up: the same relative place from src/ and from dist/. */
export function readVersion(): string {
  try {
    const pkg: unknown = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    );
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** This process's platform as OCI image indexes name it: linux/amd64, linux/arm64 (Node says x64). */
export function platformName(): string {
  return `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`;
}
