import * as path from 'path';
import { ErrorCodes, LockstepError } from '@lockstep/core';
import type { PublishExecutorSchema } from './schema';

export interface NormalizedPublishOptions {
  registry?: string;
  tag: string;
  access?: 'public' | 'restricted';
  otp?: string;
  dryRun: boolean;
  maxConcurrency: number;
  retries: number;
  verifyTimeoutMs: number;
  resume: 'auto' | 'fresh';
  group: { template: string; waitTimeoutMs: number };
  lockPolicy: 'require' | 'warn' | 'off';
  forceLock: boolean;
  /** Absolute. */
  summaryFile?: string;
}

const bad = (message: string, hint: string) => new LockstepError(ErrorCodes.EBADOPTIONS, message, { hint });

function integer(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw bad(`${name} must be a whole number ≥ ${min}, not ${JSON.stringify(value)}.`, `Remove ${name} to use the default (${fallback}).`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw bad(`${name} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, not ${JSON.stringify(value)}.`, `Use ${name}: "${fallback}".`);
  return value as T;
}

/** Resolves env (NX_DRY_RUN) and defaults once; nothing downstream re-checks. */
export function normalizePublishOptions(options: PublishExecutorSchema, ctx: { root: string; env: NodeJS.ProcessEnv }): NormalizedPublishOptions {
  if (options.registry !== undefined) {
    try {
      const url = new URL(options.registry);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw bad(`registry must be an http(s) URL, not ${JSON.stringify(options.registry)}.`, 'For example "https://registry.npmjs.org/", or leave it out to use .npmrc.');
    }
  }
  const concurrency = options.concurrency ?? {};
  if (concurrency.max !== undefined && concurrency.max !== 1) {
    throw bad(`concurrency.max ${concurrency.max} is not supported yet: a release group admits one run at a time.`, 'Remove concurrency.max.');
  }
  if (concurrency.cancelInProgress) {
    throw bad('concurrency.cancelInProgress is not supported yet.', 'Remove it: a newer run waits for the holder in arrival order.');
  }
  if (options.lockBackend !== undefined && options.lockBackend !== 'local') {
    throw bad(`lockBackend "${options.lockBackend}" is not available yet.`, 'Use lockBackend: "local" (the default).');
  }
  const group = concurrency.group ?? 'publish';
  if (typeof group !== 'string' || group.trim() === '') throw bad('concurrency.group must be a non-empty string.', 'For example "publish" or "release-{branch}".');
  return {
    registry: options.registry,
    tag: typeof options.tag === 'string' && options.tag.trim() ? options.tag.trim() : 'latest',
    access: options.access === undefined ? undefined : oneOf(options.access, 'access', ['public', 'restricted'] as const, 'public'),
    otp: options.otp || undefined,
    dryRun: options.dryRun === true || ctx.env.NX_DRY_RUN === 'true',
    maxConcurrency: integer(options.maxConcurrency, 'maxConcurrency', 1, 4),
    retries: integer(options.retries, 'retries', 0, 3),
    verifyTimeoutMs: integer(options.verifyTimeoutMs, 'verifyTimeoutMs', 0, 5 * 60_000),
    resume: oneOf(options.resume, 'resume', ['auto', 'fresh'] as const, 'auto'),
    group: { template: group, waitTimeoutMs: integer(concurrency.waitTimeoutMs, 'concurrency.waitTimeoutMs', 0, 60 * 60_000) },
    lockPolicy: oneOf(options.lockPolicy, 'lockPolicy', ['require', 'warn', 'off'] as const, 'require'),
    forceLock: options.forceLock === true,
    summaryFile: options.summaryFile ? path.resolve(ctx.root, options.summaryFile) : undefined,
  };
}
