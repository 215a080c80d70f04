// `npm run image:multiarch [-- --local-base] [--out FILE]`: the s3-health image
// for linux/amd64 and linux/arm64 under one name, written as an OCI image
// index in an oci-archive (default build/s3-health.oci.tar), built here with
// buildah, the other architecture's RUN steps under QEMU. Push it with the tool
// of your choice, e.g. `skopeo copy --all oci-archive:build/s3-health.oci.tar
// docker://REGISTRY/s3-health:TAG` (docs/deploy.md, "Both platforms").
//
// Needs root, buildah, qemu-user-static and binfmt-support (Debian), the
// project's dev dependencies, and binutils-aarch64-linux-gnu (to strip the
// arm64 Node). --local-base assembles node:24-bookworm-slim here for each
// platform (debootstrap; what CI does, with no image registry); without it
// buildah pulls the official image for each platform.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureEmulation } from '../ground/image/binfmt.ts';
import { buildahAvailable, openBuildah } from '../ground/image/buildah.ts';
import { buildMultiArch, readIndex } from '../ground/image/multiarch.ts';
import { REPO_ROOT } from '../ground/netns/ec2-sim.ts';

const { values } = parseArgs({
  options: {
    'local-base': { type: 'boolean', default: false },
    out: { type: 'string', default: join(REPO_ROOT, 'build', 's3-health.oci.tar') },
  },
});
const say = (line: string) => process.stdout.write(`[image:multiarch] ${line}\n`);
const tools = buildahAvailable();
if (!tools.ok) throw new Error(tools.why);
const hostArch = process.arch === 'x64' ? 'amd64' : process.arch;
const emulation = await ensureEmulation(hostArch === 'arm64' ? 'amd64' : 'arm64');
if (!emulation.ok) throw new Error(`cannot run the other architecture here: ${emulation.why}`);
const buildah = await openBuildah();
try {
  const built = await buildMultiArch(buildah, {
    repoRoot: REPO_ROOT,
    out: values.out,
    base: values['local-base'] ? 'local' : 'registry',
    log: say,
  });
  for (const b of built) say(`linux/${b.arch}: built in ${b.buildSeconds} s`);
  for (const e of await readIndex(values.out)) {
    const mb = e.layers.reduce((n, l) => n + l.bytes, 0) / 1e6;
    say(`${e.platform} ${e.digest}: ${e.layers.length} layers, ${mb.toFixed(1)} MB compressed`);
  }
  say(`wrote ${values.out}`);
} finally {
  await buildah.close();
}
