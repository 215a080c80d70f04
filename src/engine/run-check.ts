import { classify } from '../aws/errors.ts';
import type { Check, CheckContext } from '../checks/check.ts';
import {
  CheckFailure,
  type CheckResult,
  type ClassifiedError,
  type Service,
  type Status,
  type StepResult,
} from '../model/check.ts';
import type { Reason } from '../model/reasons.ts';

/** Settles with the step's outcome or rejects when the deadline fires, whichever is first. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function deadlineError(step: string, timeoutMs: number, service: Service): ClassifiedError {
  return {
    reason: service === 'imds' ? 'imds_timeout' : 'timeout',
    message: `step ${step} did not finish within the ${timeoutMs} ms deadline`,
    code: 'TimeoutError',
    time: new Date().toISOString(),
    // Marks the check's own deadline, as opposed to a client's timeout.
    detail: { deadlineMs: timeoutMs },
  };
}

export function blockedResult<D>(check: Check<D>, by: CheckResult): CheckResult {
  return {
    check: check.name,
    status: 'fail',
    reason: 'blocked',
    blockedBy: by.check,
    output: `blocked: ${by.check} failed (${by.reason ?? 'unknown'})`,
    steps: [],
    startedAt: new Date().toISOString(),
    durationMs: 0,
  };
}

/**
 * Runs a check's steps in order under one deadline: times each step,
 * classifies the first error once, marks the rest skipped.
 */
export async function runCheck<D>(
  check: Check<D>,
  ctx: Omit<CheckContext<D>, 'signal'>,
  timeoutMs: number,
  parent?: AbortSignal,
): Promise<CheckResult> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = parent ? AbortSignal.any([deadline, parent]) : deadline;
  const full: CheckContext<D> = { ...ctx, signal };
  const startedAt = new Date();
  const t0 = performance.now();
  const steps: StepResult[] = [];
  let status: Status = 'pass';
  let reason: Reason | undefined;
  let output: string | undefined;
  let failed = false;
  for (const step of check.steps(full)) {
    if (failed) {
      steps.push({ name: step.name, status: 'skipped', durationMs: 0, observed: {} });
      continue;
    }
    const s0 = performance.now();
    try {
      const outcome = await raceAbort(step.run(full), signal);
      const durationMs = performance.now() - s0;
      const warned = outcome.warning !== undefined;
      steps.push({
        name: step.name,
        status: warned ? 'warn' : 'pass',
        durationMs,
        observed: outcome.observed ?? {},
        ...(outcome.warning
          ? {
              error: {
                reason: outcome.warning.reason,
                message: outcome.warning.message,
                time: new Date().toISOString(),
                ...(outcome.warning.detail ? { detail: outcome.warning.detail } : {}),
              },
            }
          : {}),
      });
      if (outcome.warning && status === 'pass') {
        status = 'warn';
        reason = outcome.warning.reason;
        output = outcome.warning.message;
      }
    } catch (err) {
      const durationMs = performance.now() - s0;
      let error: ClassifiedError;
      if (deadline.aborted) error = deadlineError(step.name, timeoutMs, step.service);
      else if (err instanceof CheckFailure)
        error = {
          ...(err.original === undefined ? {} : classify(err.original, step.service)),
          reason: err.reason,
          message: err.message,
          time: new Date().toISOString(),
          ...(err.detail ? { detail: err.detail } : {}),
        };
      else error = classify(err, step.service);
      steps.push({ name: step.name, status: 'fail', durationMs, observed: {}, error });
      status = 'fail';
      reason = error.reason;
      output = `${step.name}: ${error.message}`;
      failed = true;
    }
  }
  const durationMs = performance.now() - t0;
  return {
    check: check.name,
    status,
    ...(reason ? { reason } : {}),
    ...(output ? { output: output.slice(0, 300) } : {}),
    steps,
    startedAt: startedAt.toISOString(),
    durationMs,
  };
}
