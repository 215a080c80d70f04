// Fills the cache with the local stand-in for node:24-bookworm-slim before the
// container tests run (a cold build takes minutes: debootstrap and two npm
// packs), so that the tests themselves only `docker import` it.
//   npx node scripts/build-base-image.ts
import { prepareBaseImage } from '../ground/image/base-image.ts';

const t0 = performance.now();
const image = await prepareBaseImage();
const seconds = Math.round(performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ ...image, seconds })}\n`);
