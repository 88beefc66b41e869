export * from './types';
export * from './resource';
export { createLeaseBackend, type LeaseBackendOptions } from './backend';
export { GitLeaseBackend, type GitLeaseBackendOptions } from './git';
export { LocalLeaseBackend, type LocalLeaseBackendOptions, type LocalLeaseGcResult } from './local';
export {
  DEFAULT_MAX_LEASE_TTL_MS,
  MAX_LEASE_TTL_CEILING_MS,
  MIN_LEASE_TTL_MS,
  checkLeaseTtl,
  isSaneTtl,
  leaseTtlLimits,
  maxLeaseTtlMs,
  parseLeaseTtl,
} from './ttl';
export { describeLease, sortLeaseViews } from './describe';
