import { ErrorCodes, LockstepError } from '../errors';

/** The errors of the schedule area (plan-levels.ts). See errors.ts for the convention. */

/**
 * ECYCLE naming the packages of one cycle in order and, where the nodes say
 * why, each edge. The publish order comes from dependencies,
 * optionalDependencies and peerDependencies (what an install needs);
 * devDependencies never count, so moving an edge there breaks the cycle.
 */
export function cycleError(cycle: string[], edges: Map<string, Readonly<Record<string, string>> | undefined>): LockstepError {
  const why: string[] = [];
  for (let i = 0; i + 1 < cycle.length; i++) {
    const reason = edges.get(cycle[i])?.[cycle[i + 1]];
    why.push(`${cycle[i]} → ${cycle[i + 1]}${reason ? `: ${reason}` : ''}`);
  }
  return new LockstepError(ErrorCodes.ECYCLE, `These packages depend on each other in a cycle: ${cycle.join(' → ')}. The edges: ${why.join('; ')}.`, {
    hint:
      'This run asked for a strict order (cycles: "error"), and packages are published dependencies first, ordered by dependencies, optionalDependencies ' +
      'and peerDependencies (devDependencies do not count), so a cycle cannot be ordered. Break it at one of the edges above: drop the dependency, ' +
      'move it to devDependencies if it is only needed to build or test, or merge the packages. Or let the run publish the members of the cycle ' +
      'without an order among them: cycles: "allow" (the default).',
  });
}

/** EINTERNAL: the plan left packages without a level (cannot happen: the graph of components is acyclic by construction). */
export function unplacedPackagesError(names: readonly string[]): LockstepError {
  return new LockstepError(ErrorCodes.EINTERNAL, `The publish plan left ${names.join(', ')} without a level.`, {
    hint: 'This is a bug in lockstep. Please report it with the dependencies of these packages.',
  });
}
