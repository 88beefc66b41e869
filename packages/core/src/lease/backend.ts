import { GitLeaseBackend, type GitLeaseBackendOptions } from './git';
import { LocalLeaseBackend, type LocalLeaseBackendOptions } from './local';
import type { LeaseBackend } from './types';

export type LeaseBackendOptions = ({ backend: 'local' } & LocalLeaseBackendOptions) | ({ backend: 'git' } & GitLeaseBackendOptions);

export function createLeaseBackend(options: LeaseBackendOptions): LeaseBackend {
  return options.backend === 'git' ? new GitLeaseBackend(options) : new LocalLeaseBackend(options);
}
