// The Kubernetes manifests (deploy/k8s/) and the ECS task definition
// (deploy/ecs/), checked offline: every object against the Kubernetes and
// Prometheus Operator schemas bundled in kubernetes-models (no cluster, no
// download), then what the schemas cannot say: probes on /livez and /readyz,
// the restricted Pod Security Standard, requests and limits, monitors that
// select what exists, and an environment s3-health's own parser accepts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  PodMonitor,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import {
  ConfigMap,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type IService,
  type IServiceAccount,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/parse.ts';

const K8S = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));
const ECS = fileURLToPath(new URL('../../deploy/ecs/task-definition.json', import.meta.url));
const VARIANTS = ['standalone', 'sidecar', 'sidecar-s3-gated-readiness'] as const;
/**
 * Whether the pod's readiness follows S3 (a readinessProbe on /readyz): the
 * standalone prober's own Service may; the application's pod only by opt-in.
 */
const READINESS_ON_S3: Record<(typeof VARIANTS)[number], boolean> = {
  standalone: true,
  sidecar: false,
  'sidecar-s3-gated-readiness': true,
};

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string } } & Record<
  string,
  unknown
>;
interface Loaded {
  file: string;
  obj: Obj;
}

// The kinds the manifests may use, each with its bundled schema.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isMap(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const named = (v: Json): string | undefined =>
  isMap(v) && typeof v.name === 'string' ? v.name : undefined;

/**
 * A strategic merge patch as kustomize applies it to what these manifests
 * patch: maps merge key by key, lists of named objects (containers, init
 * containers) merge item by name, anything else is replaced. Debian's apt has
 * no kustomize, so the overlay is rendered here; `kubectl kustomize` gives
 * the same Deployment where it is installed.
 */
function strategicMerge(base: Json, patch: Json): Json {
  if (isMap(base) && isMap(patch)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch))
      out[k] = k in out ? strategicMerge(out[k] as Json, v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => named(p) !== undefined)) {
    const out = [...base];
    for (const p of patch) {
      const i = out.findIndex((b) => named(b) === named(p));
      if (i < 0) out.push(p);
      else out[i] = strategicMerge(out[i] as Json, p);
    }
    return out;
  }
  return patch;
}

function parseYaml(path: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as Obj | null;
    if (obj !== null) out.push(obj);
  }
  return out;
}

/**
 * A kustomization's objects: its resources (files, or directories with a
 * kustomization of their own) with its `patches` applied.
 */
function load(variant: string): { objects: Loaded[]; kustomization: Obj } {
  const dir = join(K8S, variant);
  const [kustomization] = parseYaml(join(dir, 'kustomization.yaml'));
  if (kustomization?.kind !== 'Kustomization') throw new Error(`${variant}: no kustomization.yaml`);
  const objects: Loaded[] = [];
  for (const r of (kustomization.resources as string[] | undefined) ?? []) {
    if (/\.ya?ml$/.test(r))
      objects.push(...parseYaml(join(dir, r)).map((obj) => ({ file: r, obj })));
    else objects.push(...load(join(variant, r)).objects);
  }
  for (const { path } of (kustomization.patches as { path: string }[] | undefined) ?? []) {
    for (const patch of parseYaml(join(dir, path))) {
      const target = objects.find(
        (o) => o.obj.kind === patch.kind && o.obj.metadata?.name === patch.metadata?.name,
      );
      if (!target) throw new Error(`${variant}/${path}: patches nothing`);
      target.obj = strategicMerge(target.obj as Json, patch as Json) as Obj;
    }
  }
  return { objects, kustomization };
}

function all<T>(objects: Loaded[], kind: string): T[] {
  return objects.filter((o) => o.obj.kind === kind).map((o) => o.obj as unknown as T);
}

function one<T>(objects: Loaded[], kind: string): T {
  const found = all<T>(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as T;
}

function isSubset(sub: Record<string, string> = {}, of: Record<string, string> = {}): boolean {
  return Object.keys(sub).length > 0 && Object.entries(sub).every(([k, v]) => of[k] === v);
}

function s3Health(pod: IPodSpec): IContainer {
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.name === 's3-health');
  if (!c) throw new Error('no s3-health container');
  return c;
}

/** The Pod Security Standards "restricted" profile, container by container. */
function restrictedViolations(pod: IPodSpec): string[] {
  const out: string[] = [];
  const psc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push('host namespaces');
  const allowedVolumes = [
    'configMap',
    'csi',
    'downwardAPI',
    'emptyDir',
    'ephemeral',
    'persistentVolumeClaim',
    'projected',
    'secret',
  ];
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === undefined || !allowedVolumes.includes(type)) out.push(`volume ${v.name}: ${type}`);
  }
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) out.push(`${where}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL'))
      out.push(`${where}: capabilities not dropped`);
    if ((sc.capabilities?.add ?? []).some((a) => a !== 'NET_BIND_SERVICE'))
      out.push(`${where}: capabilities added`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${where}: seccomp`);
    if ((c.ports ?? []).some((p) => p.hostPort !== undefined)) out.push(`${where}: hostPort`);
  }
  return out;
}

/** What the s3-health container sees: its envFrom ConfigMaps, then its env, as the kubelet merges them. */
function containerEnv(c: IContainer, objects: Loaded[]): Record<string, string> {
  const maps = all<IConfigMap>(objects, 'ConfigMap');
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const map = maps.find((m) => m.metadata?.name === name);
    if (!map) throw new Error(`envFrom names a ConfigMap not in the manifests: ${name}`);
    Object.assign(env, map.data ?? {});
  }
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function portNumber(c: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

describe.each(VARIANTS)('deploy/k8s/%s', (variant) => {
  const { objects, kustomization } = load(variant);
  const deployment = () =>
    objects.find(
      (o) =>
        o.obj.kind === 'Deployment' &&
        s3HealthIn((o.obj as unknown as IDeployment).spec?.template.spec),
    )?.obj as unknown as IDeployment;
  const podSpec = (): IPodSpec => {
    const spec = deployment()?.spec?.template.spec;
    if (!spec) throw new Error('no Deployment with s3-health');
    return spec;
  };

  it('every object is a known kind and valid against its bundled schema', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const { file, obj } of objects) {
      const key = `${obj.apiVersion}/${obj.kind}`;
      const Model = MODELS[key];
      expect(Model, `${file}: ${key} is not a kind these manifests may use`).toBeDefined();
      if (Model) expect(() => new Model(obj as never).validate(), file).not.toThrow();
    }
  });

  it('the kustomization lists exactly the files of its directory', () => {
    const resources = (kustomization.resources as string[]).filter((r) => /\.ya?ml$/.test(r));
    const patches = ((kustomization.patches as { path: string }[] | undefined) ?? []).map(
      (p) => p.path,
    );
    const listed = [...resources, ...patches].sort();
    expect(listed).toEqual(yamlFiles(join(K8S, variant)).filter((f) => f !== 'kustomization.yaml'));
  });

  it('the pod meets the restricted Pod Security Standard, root filesystem read-only', () => {
    const pod = podSpec();
    expect(restrictedViolations(pod)).toEqual([]);
    expect(s3Health(pod).securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it(`liveness on /livez, readiness ${READINESS_ON_S3[variant] ? 'on /readyz' : 'not on S3'}, on the port s3-health listens on`, () => {
    const c = s3Health(podSpec());
    const env = containerEnv(c, objects);
    const port = Number(env.S3_HEALTH_PORT ?? '8080');
    expect(c.livenessProbe?.httpGet?.path).toBe('/livez');
    if (READINESS_ON_S3[variant]) expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    else expect(c.readinessProbe).toBeUndefined();
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      if (probe?.httpGet) expect(portNumber(c, probe.httpGet.port)).toBe(port);
    }
    // A probe that fails on a slow answer would restart a healthy prober: /livez never waits on AWS.
    expect(c.livenessProbe?.timeoutSeconds).toBeGreaterThanOrEqual(2);
  });

  it('requests and limits for CPU and memory, memory limit above the measured RSS', () => {
    const r = s3Health(podSpec()).resources;
    for (const key of ['cpu', 'memory']) {
      expect(r?.requests?.[key], `requests.${key}`).toBeDefined();
      expect(r?.limits?.[key], `limits.${key}`).toBeDefined();
    }
    const mib = (q: unknown) => Number(String(q).replace(/Mi$/, ''));
    expect(mib(r?.requests?.memory)).toBeGreaterThanOrEqual(100);
    expect(mib(r?.limits?.memory)).toBeGreaterThanOrEqual(2 * mib(r?.requests?.memory));
  });

  it('the environment s3-health gets is a configuration its parser accepts', () => {
    const env = containerEnv(s3Health(podSpec()), objects);
    const parsed = parseConfig(env, 'kb-7d9f8c6b5-x2x9z');
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
    if (parsed.ok) expect(parsed.config.checks).not.toContain('imds');
  });

  it('runs as a service account annotated for IRSA (or ready for Pod Identity)', () => {
    const name = podSpec().serviceAccountName;
    const sa = all<IServiceAccount>(objects, 'ServiceAccount').find(
      (s) => s.metadata?.name === name,
    );
    expect(sa, `ServiceAccount ${name}`).toBeDefined();
    expect(sa?.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toMatch(
      /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    );
    expect(sa?.automountServiceAccountToken).toBe(false);
  });

  it('the Deployment selects its own pods', () => {
    const d = deployment();
    expect(isSubset(d.spec?.selector.matchLabels, d.spec?.template.metadata?.labels)).toBe(true);
  });
});

function s3HealthIn(pod: IPodSpec | undefined): boolean {
  if (!pod) return false;
  return [...(pod.initContainers ?? []), ...pod.containers].some((c) => c.name === 's3-health');
}

describe('standalone: Service and ServiceMonitor', () => {
  const { objects } = load('standalone');
  const d = one<IDeployment>(objects, 'Deployment');
  const pod = d.spec?.template;
  const svc = one<IService>(objects, 'Service');
  const sm = one<{
    spec: {
      selector: { matchLabels?: Record<string, string> };
      endpoints: { port?: string; path?: string }[];
    };
  }>(objects, 'ServiceMonitor');

  it('the Service selects the pods and targets the container port by name', () => {
    expect(isSubset(svc.spec?.selector, pod?.metadata?.labels)).toBe(true);
    const c = pod?.spec ? s3Health(pod.spec) : undefined;
    for (const p of svc.spec?.ports ?? []) {
      expect(c && portNumber(c, p.targetPort)).toBeDefined();
    }
  });

  it('the ServiceMonitor selects the Service and scrapes /metrics on a port it has', () => {
    expect(isSubset(sm.spec.selector.matchLabels, svc.metadata?.labels)).toBe(true);
    const names = (svc.spec?.ports ?? []).map((p) => p.name);
    for (const e of sm.spec.endpoints) {
      expect(names).toContain(e.port);
      expect(e.path).toBe('/metrics');
    }
  });
});

describe('sidecar: native sidecar in the application pod, PodMonitor', () => {
  const { objects } = load('sidecar');
  const d = one<IDeployment>(objects, 'Deployment');
  const template = d.spec?.template;
  const spec = template?.spec as IPodSpec;
  const c = s3Health(spec);

  it('is an init container with restartPolicy Always, started before the application', () => {
    expect(spec.initContainers?.map((x) => x.name)).toContain('s3-health');
    expect(c.restartPolicy).toBe('Always');
    expect(c.startupProbe?.httpGet?.path).toBe('/readyz');
  });

  it("its port does not clash with the application's, and the scrape annotations name it", () => {
    const own = (c.ports ?? []).map((p) => p.containerPort);
    const app = spec.containers.flatMap((x) => (x.ports ?? []).map((p) => p.containerPort));
    expect(own.filter((p) => app.includes(p))).toEqual([]);
    expect(Number(template?.metadata?.annotations?.['prometheus.io/port'])).toBe(own[0]);
    expect(template?.metadata?.annotations?.['prometheus.io/path']).toBe('/metrics');
  });

  it('the PodMonitor selects the pods and a port of the sidecar', () => {
    const pm = one<{
      spec: {
        selector: { matchLabels?: Record<string, string> };
        podMetricsEndpoints: { port?: string; path?: string }[];
      };
    }>(objects, 'PodMonitor');
    expect(isSubset(pm.spec.selector.matchLabels, template?.metadata?.labels)).toBe(true);
    for (const e of pm.spec.podMetricsEndpoints) {
      expect((c.ports ?? []).map((p) => p.name)).toContain(e.port);
      expect(e.path).toBe('/metrics');
    }
  });
});

describe('sidecar-s3-gated-readiness: the opt-in', () => {
  const base = one<IDeployment>(load('sidecar').objects, 'Deployment');
  const opted = one<IDeployment>(load('sidecar-s3-gated-readiness').objects, 'Deployment');

  it('adds a readinessProbe on /readyz to s3-health and changes nothing else', () => {
    const probe = s3Health(opted.spec?.template.spec as IPodSpec).readinessProbe;
    expect(probe).toMatchObject({ httpGet: { path: '/readyz', port: 's3-health' } });
    // s3-health applies S3_HEALTH_FAILURE_THRESHOLD itself.
    expect(probe?.failureThreshold).toBe(1);
    const stripped = structuredClone(opted);
    delete s3Health(stripped.spec?.template.spec as IPodSpec).readinessProbe;
    expect(stripped).toEqual(base);
  });

  it('the default keeps the startupProbe: the first start still waits for S3', () => {
    expect(s3Health(base.spec?.template.spec as IPodSpec).startupProbe?.httpGet?.path).toBe(
      '/readyz',
    );
  });
});

describe('deploy/ecs/task-definition.json', () => {
  interface EcsContainer {
    name: string;
    essential?: boolean;
    user?: string;
    readonlyRootFilesystem?: boolean;
    linuxParameters?: { capabilities?: { drop?: string[] } };
    portMappings?: { containerPort: number }[];
    environment?: { name: string; value: string }[];
    healthCheck?: { command: string[] };
    dependsOn?: { containerName: string; condition: string }[];
  }
  const td = JSON.parse(readFileSync(ECS, 'utf8')) as {
    taskRoleArn?: string;
    containerDefinitions: EcsContainer[];
  };
  const sidecar = td.containerDefinitions.find((x) => x.name === 's3-health');
  const env = Object.fromEntries((sidecar?.environment ?? []).map((e) => [e.name, e.value]));

  it('has a task role: that, not the instance role, is what the containers get', () => {
    expect(td.taskRoleArn).toMatch(/^arn:aws[a-z-]*:iam::\d{12}:role\//);
  });

  it('the sidecar: non-essential, health-checked, non-root, read-only, no capabilities', () => {
    expect(sidecar).toMatchObject({
      essential: false,
      user: '1000:1000',
      readonlyRootFilesystem: true,
      healthCheck: { command: ['CMD', 's3-health', 'check'] },
    });
    expect(sidecar?.linuxParameters?.capabilities?.drop).toEqual(['ALL']);
    expect(sidecar?.portMappings?.map((p) => p.containerPort)).toEqual([
      Number(env.S3_HEALTH_PORT),
    ]);
  });

  it('its environment is a configuration the parser accepts', () => {
    const parsed = parseConfig(env, 'ip-10-0-1-23');
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
  });

  it('the application waits for the sidecar to be healthy', () => {
    const app = td.containerDefinitions.filter((x) => x.name !== 's3-health');
    for (const a of app) {
      expect(a.dependsOn).toContainEqual({ containerName: 's3-health', condition: 'HEALTHY' });
    }
  });
});
