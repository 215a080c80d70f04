// Which process owns which docker engine, written before anything is created,
// so that engines left by a run that was killed (SIGKILL, timeout) can be torn
// down by a later run without touching the engines of runs still alive.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime, stillRunning } from '../shared/process.ts';

const REGISTRY_DIR = '/run/s3h-docker';

export interface EngineRecord {
  id: string;
  ownerPid: number;
  ownerStart: string | undefined;
  /** holds data-root, exec-root, socket, pidfile, config and log */
  stateDir: string;
  socket: string;
  netns: string;
  /** only a namespace we created is deleted at teardown */
  createdNetns: boolean;
  cgroupParent: string;
  dockerdPid?: number;
  dockerdStart?: string;
}

function recordPath(id: string): string {
  return join(REGISTRY_DIR, `${id}.json`);
}

export function saveRecord(record: EngineRecord): void {
  mkdirSync(REGISTRY_DIR, { recursive: true });
  writeFileSync(recordPath(record.id), JSON.stringify(record));
}

export function dropRecord(id: string): void {
  rmSync(recordPath(id), { force: true });
}

export function newRecordOwner(): Pick<EngineRecord, 'ownerPid' | 'ownerStart'> {
  return { ownerPid: process.pid, ownerStart: processStartTime(process.pid) };
}

/** Records whose owning process is gone. */
export function staleRecords(): EngineRecord[] {
  let files: string[];
  try {
    files = readdirSync(REGISTRY_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const stale: EngineRecord[] = [];
  for (const file of files) {
    try {
      const record = JSON.parse(readFileSync(join(REGISTRY_DIR, file), 'utf8')) as EngineRecord;
      const ownerStart = record.ownerStart;
      if (ownerStart === undefined || !stillRunning(record.ownerPid, ownerStart)) {
        stale.push(record);
      }
    } catch {
      /* half-written or removed meanwhile */
    }
  }
  return stale;
}
