import { cycleError, unplacedPackagesError } from './errors';

export interface PlanNode {
  name: string;
  /** Names of other nodes of the same plan this one depends on; others are ignored. */
  deps: readonly string[];
  /** Why this node depends on each dep, for messages, e.g. `dependencies["b"] is "workspace:*"`. */
  edges?: Readonly<Record<string, string>>;
}

export interface Plan {
  /**
   * Level 0 has no in-plan dependencies; a node's level is 1 + the highest
   * level of its dependencies. The members of one cycle share a level.
   */
  levels: Map<string, number>;
  byLevel: string[][];
  /**
   * What each node waits for (what the scheduler follows), and the inverse.
   * Without cycles, its in-plan dependencies. A cycle is one node: its members
   * have no order among them, and each waits for everything outside the cycle
   * that any member depends on; a node that depends on a member of a cycle
   * waits for every member.
   */
  deps: Map<string, string[]>;
  dependents: Map<string, string[]>;
  /** The longest chain of dependent nodes, in order. */
  criticalPath: string[];
  /** Each group of nodes that depend on each other in a cycle (a strongly connected component of 2 or more), sorted; [] without cycles. */
  cycles: string[][];
}

export interface PlanOptions {
  /**
   * `error` (the default of this function): a cycle is ECYCLE naming it and
   * the edges that close it. `allow`: each cycle is planned as one node (see
   * Plan.deps) and listed in Plan.cycles.
   */
  cycles?: 'error' | 'allow';
}

/**
 * Computes levels (Kahn's algorithm on the graph of strongly connected
 * components, Tarjan's algorithm). A cycle is ECYCLE naming the packages on it
 * and the edges that close it, unless `cycles: "allow"`.
 */
export function planLevels(nodes: readonly PlanNode[], options: PlanOptions = {}): Plan {
  const names = new Set(nodes.map((n) => n.name));
  const direct = new Map<string, string[]>();
  for (const node of nodes) direct.set(node.name, [...new Set(node.deps)].filter((d) => names.has(d) && d !== node.name).sort());
  const components = stronglyConnected([...names].sort(), direct);
  const cycles = components.filter((c) => c.length > 1).sort((a, b) => a[0].localeCompare(b[0]));
  if (cycles.length > 0 && options.cycles !== 'allow') {
    throw cycleError(findCycle(cycles[0], direct), new Map(nodes.map((n) => [n.name, n.edges])));
  }
  const componentOf = new Map<string, string[]>();
  for (const component of components) for (const name of component) componentOf.set(name, component);

  // A component is one node: each member waits for what any member depends on outside it, widened to whole components.
  const deps = new Map<string, string[]>();
  const dependents = new Map<string, string[]>([...names].map((n) => [n, []]));
  for (const component of components) {
    const waits = new Set<string>();
    for (const name of component) {
      for (const dep of direct.get(name)!) {
        const theirs = componentOf.get(dep)!;
        if (theirs === component) continue;
        for (const member of theirs) waits.add(member);
      }
    }
    const sorted = [...waits].sort();
    for (const name of component) {
      deps.set(name, sorted);
      for (const dep of sorted) dependents.get(dep)!.push(name);
    }
  }
  for (const list of dependents.values()) list.sort();

  // Kahn's algorithm on the now acyclic `deps`.
  const remaining = new Map([...deps].map(([name, d]) => [name, d.length]));
  const levels = new Map<string, number>();
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
        if (left === 0) next.push(dependent);
      }
    }
    frontier = next.sort();
  }
  if (levels.size !== names.size) {
    // Cannot happen: the graph of components is acyclic by construction.
    throw unplacedPackagesError([...names].filter((n) => !levels.has(n)));
  }
  let last = byLevel.length ? byLevel[byLevel.length - 1][0] : undefined;
  const criticalPath: string[] = [];
  while (last !== undefined) {
    criticalPath.unshift(last);
    const current: string = last;
    last = deps.get(current)!.reduce<string | undefined>((best, d) => (best === undefined || levels.get(d)! > levels.get(best)! ? d : best), undefined);
  }
  return { levels, byLevel, deps, dependents, criticalPath, cycles };
}

/** Tarjan's strongly connected components (iterative: deep chains must not overflow the stack); each component sorted. */
function stronglyConnected(names: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of names) {
    if (index.has(root)) continue;
    const work: Array<{ name: string; next: number }> = [{ name: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const edges = deps.get(frame.name)!;
      if (frame.next < edges.length) {
        const dep = edges[frame.next++];
        if (!index.has(dep)) {
          index.set(dep, counter);
          low.set(dep, counter++);
          stack.push(dep);
          onStack.add(dep);
          work.push({ name: dep, next: 0 });
        } else if (onStack.has(dep)) {
          low.set(frame.name, Math.min(low.get(frame.name)!, index.get(dep)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.name, Math.min(low.get(parent.name)!, low.get(frame.name)!));
      if (low.get(frame.name) === index.get(frame.name)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.name);
        components.push(component.sort());
      }
    }
  }
  return components;
}

/** One cycle through the members of a strongly connected component, from its first member back to it. */
function findCycle(stuck: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[] {
  const stuckSet = new Set(stuck);
  const path: string[] = [];
  const seen = new Map<string, number>();
  let node = [...stuck].sort()[0];
  while (!seen.has(node)) {
    seen.set(node, path.length);
    path.push(node);
    node = deps.get(node)!.find((d) => stuckSet.has(d))!;
  }
  return [...path.slice(seen.get(node)), node];
}

