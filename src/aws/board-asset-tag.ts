import { readFile } from 'node:fs/promises';

/**
 * Nitro instances carry their instance id in the SMBIOS board asset tag,
 * readable by every user and, through Docker's read-only /sys, by
 * containers: the one way to know the instance where the `imds` check makes
 * no IMDS call (ECS task roles, EKS Pod Identity, IRSA). Xen instances and
 * machines outside EC2 have no such file, or another value there.
 */
const BOARD_ASSET_TAG = '/sys/devices/virtual/dmi/id/board_asset_tag';

const INSTANCE_ID_RE = /^i-[0-9a-f]{8,17}$/;

export async function boardInstanceId(path: string = BOARD_ASSET_TAG): Promise<string | undefined> {
  try {
    const value = (await readFile(path, 'utf8')).slice(0, 64).trim();
    return INSTANCE_ID_RE.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
