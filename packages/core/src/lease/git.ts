import { ErrorCodes, LockstepError } from '../errors';
import type { LeaseResource } from './resource';
import type { LeaseAcquireOptions, LeaseAcquireResult, LeaseBackend, LeaseView } from './types';

export interface GitLeaseBackendOptions {
  /** A git working tree (a clone) whose remote holds the leases. */
  cwd: string;
  /** The remote to hold leases on. Default "origin". */
  remote?: string;
  /** Extra observation time beyond the TTL before a lease counts as expired. Default: max(1 s, ttl / 10). */
  marginMs?: number;
  env?: NodeJS.ProcessEnv;
}

// STUB: replaced by the git backend implementation.
export class GitLeaseBackend implements LeaseBackend {
  readonly kind = 'git' as const;
  constructor(readonly options: GitLeaseBackendOptions) {}
  acquire(_r: LeaseResource, _o: LeaseAcquireOptions): Promise<LeaseAcquireResult> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'git leases: not implemented');
  }
  renew(_r: LeaseResource, _o: { owner: string; ttlMs?: number }): Promise<LeaseView> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'git leases: not implemented');
  }
  release(_r: LeaseResource, _o: { owner: string }): Promise<{ released: boolean; lease?: LeaseView }> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'git leases: not implemented');
  }
  status(_r?: LeaseResource): Promise<LeaseView[]> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'git leases: not implemented');
  }
  gc(): Promise<{ removed: LeaseView[] }> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'git leases: not implemented');
  }
}
