// Issue 19: the shipped manifests name the one multi-arch image and pin no
// architecture, so a Graviton node, instance or host runs them unchanged.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every value under `key` anywhere in a parsed document. */
function valuesOf(doc: unknown, key: string): unknown[] {
  if (Array.isArray(doc)) return doc.flatMap((d) => valuesOf(d, key));
  if (doc === null || typeof doc !== 'object') return [];
  return Object.entries(doc).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOf(v, key)]);
}

function k8sDocuments(): unknown[] {
  const dir = join(ROOT, 'deploy', 'k8s');
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS()));
}

const ecs = (): unknown =>
  JSON.parse(readFileSync(join(ROOT, 'deploy/ecs/task-definition.json'), 'utf8'));
const compose = (): unknown => parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));

const s3HealthImages = (docs: unknown[]): string[] =>
  docs
    .flatMap((d) => valuesOf(d, 'image'))
    .filter((i): i is string => typeof i === 'string' && i.includes('s3-health'));

describe('the manifests name one image for every platform', () => {
  it('Kubernetes, ECS and compose name s3-health without an architecture in the name', () => {
    const images = s3HealthImages([...k8sDocuments(), ecs(), compose()]);
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) expect(image).not.toMatch(/amd64|arm64|aarch64|x86_64|graviton/i);
  });

  it('no Kubernetes object selects or requires a node architecture', () => {
    const text = JSON.stringify(k8sDocuments());
    expect(text).not.toContain('kubernetes.io/arch');
    expect(valuesOf(k8sDocuments(), 'nodeSelector')).toEqual([]);
  });

  it('the ECS task pins no CPU architecture, and compose no platform', () => {
    expect(valuesOf(ecs(), 'cpuArchitecture')).toEqual([]);
    expect(valuesOf(compose(), 'platform')).toEqual([]);
  });
});
