import { Plan } from './plan-levels';

export type NodeOutcome = 'done' | 'failed' | 'blocked' | 'not-started';

/**
 * What a node's run resolves to: true/false, or — to give its slot back before
 * it is finished — `{ settle }`, whose promise decides success later. A node
 * counts as done (and its dependents may start) only when it has settled.
 */
export type RunResult = boolean | { settle: Promise<boolean> };

/**
 * A node's hold on its slot. A node that waits for something that is not
 * work (a registry's Retry-After, an answer another request is fetching)
 * may give the slot back meanwhile and take it again before it goes on; a
 * node taking its slot back goes ahead of nodes not started yet. At most
 * `concurrency` slots are lent out at once: past that, `release` keeps the
 * slot and `acquire` has nothing to do.
 */
export interface Slot {
  release(): void;
  acquire(): Promise<void>;
}

export interface ScheduleOptions {
  /** Runs (slot holders) at once. */
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
 * in-plan dependencies are done (no level barrier), at most `concurrency`
 * holding a slot at once (in the order they became ready; see Slot for a
 * node that gives its slot back while it waits). A failure blocks every
 * transitive dependent while independent branches go on.
 */
export async function runScheduled(plan: Plan, run: (name: string, slot: Slot) => Promise<RunResult>, options: ScheduleOptions): Promise<ScheduleResult> {
  const slots = new Slots(Math.max(1, options.concurrency));
  const outcomes = new Map<string, NodeOutcome>([...plan.levels.keys()].map((n) => [n, 'not-started']));
  const blockedBy = new Map<string, string>();
  const waitingOn = new Map([...plan.deps].map(([name, deps]) => [name, deps.length]));
  let active = 0;
  let finished!: () => void;
  const allSettled = new Promise<void>((resolve) => (finished = resolve));

  const block = (name: string, cause: string) => {
    for (const dependent of plan.dependents.get(name) ?? []) {
      if (outcomes.get(dependent) !== 'not-started' || blockedBy.has(dependent)) continue;
      outcomes.set(dependent, 'blocked');
      blockedBy.set(dependent, cause);
      options.onBlocked?.(dependent, cause);
      block(dependent, cause);
    }
  };

  const settled = (name: string, ok: boolean) => {
    outcomes.set(name, ok ? 'done' : 'failed');
    if (!ok) block(name, name);
    else {
      for (const dependent of plan.dependents.get(name) ?? []) {
        const left = waitingOn.get(dependent)! - 1;
        waitingOn.set(dependent, left);
        if (left === 0 && outcomes.get(dependent) === 'not-started') start(dependent);
      }
    }
    if (--active === 0) finished();
  };

  const start = (name: string) => {
    active++;
    void slots
      .acquire(false)
      .then(async (): Promise<RunResult | undefined> => {
        let held = true;
        let ended = false;
        let lent = false;
        let taking: Promise<void> | undefined;
        const slot: Slot = {
          release: () => {
            // At most `concurrency` slots lent out at once: the nodes started on them hold packed tarballs and
            // send requests too, so waits never let the run grow past twice its concurrency (a 429 storm
            // makes nodes keep their slots instead of starting ever more).
            if (held && slots.lend()) {
              held = false;
              lent = true;
              slots.release();
            }
          },
          acquire: () => {
            if (held || ended || !lent) return Promise.resolve();
            // One take-back per give-back, however many callers await it.
            taking ??= slots.acquire(true).then(() => {
              taking = undefined;
              lent = false;
              slots.giveBack();
              // The node ended meanwhile (an abort ended its wait early): the slot goes straight back.
              if (ended) slots.release();
              else held = true;
            });
            return taking;
          },
        };
        try {
          if (options.shouldStop?.() || outcomes.get(name) !== 'not-started') return undefined;
          return await run(name, slot);
        } catch {
          return false;
        } finally {
          ended = true;
          if (held) {
            held = false;
            slots.release();
          } else if (lent && !taking) {
            // Ended while its slot was lent out and not being taken back: the loan is over.
            lent = false;
            slots.giveBack();
          }
        }
      })
      .then(async (result) => {
        if (result === undefined) {
          if (--active === 0) finished();
          return;
        }
        const ok = typeof result === 'boolean' ? result : await result.settle.catch(() => false);
        settled(name, ok);
      });
  };

  const roots = [...waitingOn].filter(([, count]) => count === 0).map(([name]) => name);
  if (roots.length === 0) return { outcomes, blockedBy };
  for (const name of roots) start(name);
  await allSettled;
  return { outcomes, blockedBy };
}

/**
 * A counting semaphore: FIFO for new holders; holders taking back a slot they
 * lent out go first, in the order they asked. At most `free` (the
 * concurrency) slots are lent out at once.
 */
class Slots {
  private readonly waiting: Array<() => void> = [];
  private readonly returning: Array<() => void> = [];
  private lentOut = 0;
  private readonly maxLent: number;
  constructor(private free: number) {
    this.maxLent = free;
  }

  acquire(returning: boolean): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => (returning ? this.returning : this.waiting).push(resolve));
  }

  release(): void {
    const next = this.returning.shift() ?? this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  /** May a holder lend its slot out while it waits? Counts the loan when it may. */
  lend(): boolean {
    if (this.lentOut >= this.maxLent) return false;
    this.lentOut++;
    return true;
  }

  /** A loan is over (the slot was taken back, or its node ended). */
  giveBack(): void {
    this.lentOut--;
  }
}
