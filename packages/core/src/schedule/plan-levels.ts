import { ErrorCodes, LockstepError } from '../errors';

export interface PlanNode {
  name: string;
  /** Names of other nodes of the same plan this one depends on; others are ignored. */
  deps: readonly string[];
  /** Why this node depends on each dep, for messages, e.g. `dependencies["b"] is "workspace:*"`. */
  edges?: Readonly<Record<string, string>>;
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

/** Computes levels (Kahn's algorithm); a cycle is ECYCLE naming the packages on it and the edges that close it. */
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
    throw cycleError(findCycle(stuck, deps), new Map(nodes.map((n) => [n.name, n.edges])));
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

/**
 * ECYCLE naming the packages of one cycle in order and, where the nodes say
 * why, each edge. The publish order comes from dependencies,
 * optionalDependencies and peerDependencies (what an install needs);
 * devDependencies never count, so moving an edge there breaks the cycle.
 */
function cycleError(cycle: string[], edges: Map<string, Readonly<Record<string, string>> | undefined>): LockstepError {
  const why: string[] = [];
  for (let i = 0; i + 1 < cycle.length; i++) {
    const reason = edges.get(cycle[i])?.[cycle[i + 1]];
    why.push(`${cycle[i]} → ${cycle[i + 1]}${reason ? `: ${reason}` : ''}`);
  }
  return new LockstepError(ErrorCodes.ECYCLE, `These packages depend on each other in a cycle: ${cycle.join(' → ')}. The edges: ${why.join('; ')}.`, {
    hint:
      'Packages are published dependencies first, ordered by dependencies, optionalDependencies and peerDependencies (devDependencies do not count), ' +
      'so a cycle cannot be ordered. Break it at one of the edges above: drop the dependency, move it to devDependencies if it is only needed to build or test, ' +
      'or merge the packages. (Nx\'s project graph counts devDependencies too: if Nx then refuses a circular task graph, run \`nx run-many -t publish --batch --nxIgnoreCycles\`, and lockstep orders the release itself.)',
  });
}
