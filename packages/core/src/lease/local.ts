import { ErrorCodes, LockstepError } from '../errors';
import type { LeaseResource } from './resource';
import type { LeaseAcquireOptions, LeaseAcquireResult, LeaseBackend, LeaseView } from './types';

export interface LocalLeaseBackendOptions {
  /** Directory for lock state. Default: resolveLockDir() (LOCKSTEP_LOCK_DIR, XDG_RUNTIME_DIR/lockstep, tmp/lockstep-<uid>). */
  lockDir?: string;
}

// STUB: replaced by the local backend implementation.
export class LocalLeaseBackend implements LeaseBackend {
  readonly kind = 'local' as const;
  constructor(readonly options: LocalLeaseBackendOptions = {}) {}
  acquire(_r: LeaseResource, _o: LeaseAcquireOptions): Promise<LeaseAcquireResult> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'local leases: not implemented');
  }
  renew(_r: LeaseResource, _o: { owner: string; ttlMs?: number }): Promise<LeaseView> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'local leases: not implemented');
  }
  release(_r: LeaseResource, _o: { owner: string }): Promise<{ released: boolean; lease?: LeaseView }> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'local leases: not implemented');
  }
  status(_r?: LeaseResource): Promise<LeaseView[]> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'local leases: not implemented');
  }
  gc(): Promise<{ removed: LeaseView[] }> {
    throw new LockstepError(ErrorCodes.EINTERNAL, 'local leases: not implemented');
  }
}
