import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boardInstanceId } from '../../src/aws/board-asset-tag.ts';

const dir = mkdtempSync(join(tmpdir(), 's3h-asset-tag-'));
function tag(content: string): string {
  const p = join(dir, `tag-${Math.random().toString(16).slice(2)}`);
  writeFileSync(p, content);
  return p;
}

describe('the board asset tag (instance id without IMDS)', () => {
  it('reads a Nitro instance id, newline and all', async () => {
    expect(await boardInstanceId(tag('i-0a1b2c3d4e5f67890\n'))).toBe('i-0a1b2c3d4e5f67890');
    expect(await boardInstanceId(tag('i-0a1b2c3d'))).toBe('i-0a1b2c3d');
  });

  it.each([
    'Default string',
    '',
    'I-0A1B2C3D4E5F67890',
    'i-0a1b2c3d4e5f678901',
    'i-0a1b/../../x',
    'i-0a1b2c3d4e5f67890 extra',
    '\u0000',
  ])('anything else is no instance id: %j', async (content) => {
    expect(await boardInstanceId(tag(content))).toBeUndefined();
  });

  it('no such file (Xen, outside EC2, /sys not mounted): none', async () => {
    expect(await boardInstanceId(join(dir, 'missing'))).toBeUndefined();
  });
});
