// Fault matrix, IMDS side: the sidecar process against the IMDS emulator's
// own faults, and the fault proxy's where the emulator has none (closed
// port, reset, 401, black hole, endless trickle). Each fault under load.
import { afterAll, beforeAll } from 'vitest';
import type { FaultGround } from './support/ground.ts';
import { closeAll, type Matrix, matrixTests, startMatrix } from './support/harness.ts';
import type { FaultCase } from './support/matrix.ts';

let m: Matrix;
let g: FaultGround;

beforeAll(async () => {
  m = await startMatrix();
  g = m.g;
}, 60_000);

afterAll(() => closeAll(m?.g));

// Token PUT and tokenless GET both unanswered (or the deadline first): IMDS is silent.
const timeouts = ['imds_timeout'];

// Regression (found by this suite, now fixed): the IMDS token is cached for its 6 h TTL, so the token step
// never PUTs again after start-up; a hop limit lowered to 1 on a running
// instance (modify-instance-metadata-options) stays invisible to the imds
// check while every SDK refresh pays the 1 s fallback (tokens optional) or
// gets nothing (tokens required). Fix: the scheduled token step PUTs a fresh
// token every cycle (e.g. ImdsClient.token(signal, { fresh: true })).

const cases: FaultCase[] = [
  {
    peer: 'imds',
    name: 'down (port closed)',
    inject: () => g.proxies.imds.set({ kind: 'refuse' }),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_unreachable'],
  },
  {
    peer: 'imds',
    name: 'connection reset',
    inject: () => g.proxies.imds.set({ kind: 'reset' }),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_unreachable'],
  },
  {
    peer: 'imds',
    name: 'slow (3 s a request)',
    inject: () => g.imds.setFault('slow', { delayMs: 3000 }),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: timeouts,
  },
  {
    peer: 'imds',
    name: '401 on GET',
    inject: () =>
      g.proxies.imds.set({ kind: 'status', status: 401, body: 'Unauthorized' }, { method: 'GET' }),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_unauthorized'],
  },
  {
    peer: 'imds',
    name: '403 (endpoint disabled)',
    inject: () => g.imds.setFault('disabled'),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_disabled'],
  },
  {
    peer: 'imds',
    name: '404 (no role attached)',
    inject: () => g.imds.setFault('no-role'),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_no_role'],
  },
  {
    peer: 'imds',
    name: '429 (throttled)',
    inject: () => g.imds.setFault('throttled'),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_throttled'],
  },
  {
    peer: 'imds',
    name: 'token PUT black-holed after start (hop limit 1)',
    boundMs: 6000,
    inject: () => g.imds.setFault('token-blackhole'),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'warn',
    reasons: ['imds_hop_limit_v1_fallback'],
  },
  {
    peer: 'imds',
    name: 'black-holed (every request)',
    inject: () => g.proxies.imds.set({ kind: 'blackhole' }),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: timeouts,
  },
  {
    peer: 'imds',
    name: 'malformed JSON (credentials cut in half)',
    inject: () => g.imds.setFault('malformed'),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_bad_response'],
  },
  {
    peer: 'imds',
    name: 'huge body (endless 64 KiB chunks)',
    inject: () => g.imds.setFault('huge-body'),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_bad_response'],
  },
  {
    peer: 'imds',
    name: 'endless trickle (1 byte / 100 ms)',
    inject: () =>
      g.proxies.imds.set({ kind: 'slow-body', chunkBytes: 1, intervalMs: 100 }, { method: 'GET' }),
    clear: () => g.clearFaults(),
    check: 'imds',
    status: 'fail',
    reasons: ['imds_timeout'],
  },
];

matrixTests(
  'IMDS faults: verdict within the bound, health endpoints answering, recovery',
  'imds matrix',
  () => m,
  cases,
);
