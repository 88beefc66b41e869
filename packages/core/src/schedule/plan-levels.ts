import { ErrorCodes, LockstepError } from '../errors';

export interface PlanNode {
  name: string;
  /** Names of other nodes of the same plan this one depends on; others are ignored. */
  deps: readonly string[];
}

export interface Plan {
  /** Level 0 has no in-plan dependencies; a node's level is 1 + the highest level of its dependencies. */
  levels: Map<string, number>;
  byLevel: string[][];
  /** In-plan dependencies and dependents of each node. */
  deps: Map<string, string[]>;
  dependents: Map<string, string[]>;
  /** The longest chain of dependent nodes, in order. */
  criticalPath: string[];
}

/** Computes levels (Kahn's algorithm); a cycle is ECYCLE naming the packages on it. */
export function planLevels(nodes: readonly PlanNode[]): Plan {
  const names = new Set(nodes.map((n) => n.name));
  const deps = new Map<string, string[]>();
  const dependents = new Map<string, string[]>(nodes.map((n) => [n.name, []]));
  for (const node of nodes) {
    const inPlan = [...new Set(node.deps)].filter((d) => names.has(d) && d !== node.name);
    deps.set(node.name, inPlan);
    for (const dep of inPlan) dependents.get(dep)!.push(node.name);
  }
  const remaining = new Map([...deps].map(([name, d]) => [name, d.length]));
  const levels = new Map<string, number>();
  const via = new Map<string, string | undefined>();
  let frontier = [...remaining].filter(([, n]) => n === 0).map(([name]) => name).sort();
  const byLevel: string[][] = [];
  while (frontier.length > 0) {
    byLevel.push(frontier);
    const next: string[] = [];
    for (const name of frontier) {
      levels.set(name, byLevel.length - 1);
      for (const dependent of dependents.get(name)!) {
        const left = remaining.get(dependent)! - 1;
        remaining.set(dependent, left);
        via.set(dependent, name);
        if (left === 0) next.push(dependent);
      }
    }
    frontier = next.sort();
  }
  if (levels.size !== names.size) {
    const stuck = [...names].filter((n) => !levels.has(n));
    throw new LockstepError(ErrorCodes.ECYCLE, `These packages depend on each other in a cycle: ${findCycle(stuck, deps).join(' → ')}.`, {
      hint: 'Packages are published dependencies first, so a cycle cannot be ordered. Break it, or move one side to peerDependencies.',
    });
  }
  let last = byLevel.length ? byLevel[byLevel.length - 1][0] : undefined;
  const criticalPath: string[] = [];
  while (last !== undefined) {
    criticalPath.unshift(last);
    const current: string = last;
    last = deps.get(current)!.reduce<string | undefined>((best, d) => (best === undefined || levels.get(d)! > levels.get(best)! ? d : best), undefined);
  }
  return { levels, byLevel, deps, dependents, criticalPath };
}

function findCycle(stuck: string[], deps: Map<string, string[]>): string[] {
  const stuckSet = new Set(stuck);
  const path: string[] = [];
  const seen = new Map<string, number>();
  let node = stuck.sort()[0];
  while (!seen.has(node)) {
    seen.set(node, path.length);
    path.push(node);
    node = deps.get(node)!.find((d) => stuckSet.has(d))!;
  }
  return [...path.slice(seen.get(node)), node];
}
