import PQueue from 'p-queue';
import { Plan } from './plan-levels';

export type NodeOutcome = 'done' | 'failed' | 'blocked' | 'not-started';

export interface ScheduleOptions {
  concurrency: number;
  /** Checked before starting each node: true stops starting new ones (e.g. after SIGTERM); running ones finish. */
  shouldStop?: () => boolean;
  onBlocked?: (name: string, failedDependency: string) => void;
}

export interface ScheduleResult {
  outcomes: Map<string, NodeOutcome>;
  /** For each blocked node, the failed dependency that blocked it. */
  blockedBy: Map<string, string>;
}

/**
 * Dependency-driven scheduling: a node starts as soon as all of its own
 * in-plan dependencies are done (no level barrier), at most `concurrency` at
 * once. `run` resolves true for success; a failure blocks every transitive
 * dependent while independent branches go on.
 */
export async function runScheduled(plan: Plan, run: (name: string) => Promise<boolean>, options: ScheduleOptions): Promise<ScheduleResult> {
  const queue = new PQueue({ concurrency: Math.max(1, options.concurrency) });
  const outcomes = new Map<string, NodeOutcome>([...plan.levels.keys()].map((n) => [n, 'not-started']));
  const blockedBy = new Map<string, string>();
  const waitingOn = new Map([...plan.deps].map(([name, deps]) => [name, deps.length]));

  const block = (name: string, cause: string) => {
    for (const dependent of plan.dependents.get(name) ?? []) {
      if (outcomes.get(dependent) !== 'not-started' || blockedBy.has(dependent)) continue;
      outcomes.set(dependent, 'blocked');
      blockedBy.set(dependent, cause);
      options.onBlocked?.(dependent, cause);
      block(dependent, cause);
    }
  };

  const start = (name: string) => {
    void queue.add(async () => {
      if (options.shouldStop?.() || outcomes.get(name) !== 'not-started') return;
      let ok = false;
      try {
        ok = await run(name);
      } catch {
        ok = false;
      }
      outcomes.set(name, ok ? 'done' : 'failed');
      if (!ok) return block(name, name);
      for (const dependent of plan.dependents.get(name) ?? []) {
        const left = waitingOn.get(dependent)! - 1;
        waitingOn.set(dependent, left);
        if (left === 0 && outcomes.get(dependent) === 'not-started') start(dependent);
      }
    });
  };

  for (const [name, count] of waitingOn) if (count === 0) start(name);
  await queue.onIdle();
  return { outcomes, blockedBy };
}
