import { open } from 'node:fs/promises';

/**
 * Nitro instances expose their instance id to every process, containers
 * included, as the DMI board asset tag: the one source left when IMDS cannot
 * answer (hop limit 1 with tokens required, IMDS disabled).
 */
const BOARD_ASSET_TAG = '/sys/devices/virtual/dmi/id/board_asset_tag';

const INSTANCE_ID_RE = /^i-[0-9a-f]{8,17}$/;

/** The instance id in an asset tag's text, or undefined when it is not one (Xen, other vendors). */
export function instanceIdFromAssetTag(text: string): string | undefined {
  const v = text.trim();
  return INSTANCE_ID_RE.test(v) ? v : undefined;
}

/** Reads at most 64 bytes: the file is tiny, and a stranger file must not cost more. */
export async function readDmiInstanceId(
  path: string = BOARD_ASSET_TAG,
): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return instanceIdFromAssetTag(buf.subarray(0, bytesRead).toString('utf8'));
  } catch {
    // Absent (not Nitro, or /sys not mounted): the id stays unknown, never guessed.
    return undefined;
  } finally {
    await fh?.close();
  }
}
