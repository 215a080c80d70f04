import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instanceIdFromAssetTag, readDmiInstanceId } from '../../src/aws/dmi.ts';

const dir = mkdtempSync(join(tmpdir(), 's3h-dmi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the instance id from the DMI board asset tag (Nitro)', () => {
  it.each([
    ['i-0a1b2c3d4e5f67890\n', 'i-0a1b2c3d4e5f67890'],
    ['i-12345678', 'i-12345678'],
    ['  i-0123456789abcdef0  \n', 'i-0123456789abcdef0'],
  ])('takes %j', (text, id) => {
    expect(instanceIdFromAssetTag(text)).toBe(id);
  });

  it.each([
    [''],
    ['Not Specified'],
    ['i-1234567'],
    ['i-0123456789abcdef01'],
    ['i-0123456789ABCDEF0'],
    ['i-0123456789abcdef0; rm -rf /'],
    ['x i-0123456789abcdef0'],
  ])('refuses %j: not the form of an instance id', (text) => {
    expect(instanceIdFromAssetTag(text)).toBeUndefined();
  });

  it('reads the file; an absent file (this VM, or not Nitro) gives nothing', async () => {
    const file = join(dir, 'board_asset_tag');
    writeFileSync(file, 'i-0a1b2c3d4e5f67890\n');
    expect(await readDmiInstanceId(file)).toBe('i-0a1b2c3d4e5f67890');
    expect(await readDmiInstanceId(join(dir, 'absent'))).toBeUndefined();
    writeFileSync(file, `i-0a1b2c3d4e5f67890${'0'.repeat(100_000)}`);
    expect(await readDmiInstanceId(file)).toBeUndefined();
  });
});
