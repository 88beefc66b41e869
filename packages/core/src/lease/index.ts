export * from './types';
export * from './resource';
export { createLeaseBackend, type LeaseBackendOptions } from './backend';
export { GitLeaseBackend, type GitLeaseBackendOptions } from './git';
export { LocalLeaseBackend, type LocalLeaseBackendOptions, type LocalLeaseGcResult } from './local';
