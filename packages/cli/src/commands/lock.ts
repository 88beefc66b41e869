import { execFileSync } from 'child_process';
import { realpathSync } from 'fs';
import {
  type LeaseBackend,
  type LeaseResource,
  type LeaseView,
  createLeaseBackend,
  defaultLeaseOwner,
  errnoCode,
  formatDuration,
  maxLeaseTtlMs,
  parseLeaseTtl,
  parseResource,
  resolveLockDir,
  safeLines,
  safeText,
} from '@lockstep/core';
import { type Command, type CommandContext, type CommandOutput, type OptionSpec, durationOption, stringOption } from '../args';
import { gitMissingError, notInGitTreeError, usageError } from '../errors';
import { RESOURCE_SHOWN, clockTime, holderSummary, isoTime, leaseLines, shownOwner, shownResource, until, where } from './lease-format';
import { generateLockStatus } from './lock-status';

/*
 * `lockstep lock acquire|renew|release|status|gc`: leases on a resource.
 *
 * JSON `data` of each command (inside { "schema_version": 1, "ok": true, "data": … }):
 *
 *   LeaseView = { schema_version: 1, backend: "local" | "git", resource: "package:@acme/a",
 *                 owner, nonce, ttlMs, acquiredAt, renewedAt (ISO), hostname, pid,
 *                 expired: boolean, remainingMs?: number (absent while git cannot tell yet) }
 *
 *   lock acquire  { lease: LeaseView, renewed: boolean, tookOver?: LeaseView, waitedMs: number }
 *                 renewed: this owner already held it (same nonce kept);
 *                 tookOver: the expired lease of another owner that this acquire replaced.
 *   lock renew    LeaseView
 *   lock release  { released: boolean, lease?: LeaseView }   (released: false when nothing was held)
 *   lock status   { backend, resource: string | null, leases: LeaseView[],
 *                   lock?: LockStatus }   leases: all, or those conflicting with --resource;
 *                 lock: the generate lock of a path: resource (local backend only):
 *                 { key, path, state: "free"|"alive"|"dead"|"stale", holder?, holders, queue }
 *   lock gc       { backend, removed: LeaseView[], lockDirs?: { key, path }[], lockDirsKept?: { key, path }[] }
 *                 lockDirs (local): idle per-key directories of the core lock that were removed.
 *   lock break    { backend, resource, broken: boolean, holder?: LeaseView, reason, by }
 *                 holder: the lease that was removed (as read just before removing exactly it);
 *                 by: who broke it (--owner / LOCKSTEP_OWNER / <user>@<host>).
 *
 *   LeaseView.unsound (a string) marks a record whose ttlMs is not a sane number: it counts as
 *   expired. Strings in JSON output are cut at 4096 characters, and control characters are
 *   written as \u escapes (see safeJson in @lockstep/core).
 *
 * Errors: { "schema_version": 1, "ok": false, "error": { code, message, hint } }, exit 4 for
 * ELEASECONFLICT / ELEASENOTOWNER, 2 for usage errors (EBADOPTIONS, EBADRESOURCE, EBADDURATION).
 */

export const DEFAULT_TTL = '30m';

const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  backend: { type: 'string' },
  remote: { type: 'string' },
};

const OPTION_HELP = {
  resource: '  --resource R         package:<name>, path:<dir>, group:<name> or repo:<name>\n' +
    '                       (repo: conflicts with every lease, path: with overlapping paths)',
  ttl: (dflt: string) =>
    `  --ttl D              how long the lease lasts without a renew: 30s, 15m, 2h, 1h30m, 2d (${dflt});\n` +
    '                       units largest first, each once; between 1s and 7d, or up to\n' +
    '                       $LOCKSTEP_MAX_TTL (a duration, at most 365d) when set',
  owner: '  --owner O            who holds it (default: $LOCKSTEP_OWNER, else <user>@<host>);\n' +
    '                       the commands of one job that acquire, renew and release must agree',
  wait: '  --wait D             keep trying this long while another owner holds a conflicting lease\n' +
    '                       (default: fail at once with exit code 4)',
  backend: '  --backend local|git  local: this machine\'s lock directory (default; LOCKSTEP_LOCK_DIR);\n' +
    '                       git: refs on a shared remote of the repository around the current directory',
  remote: '  --remote NAME        the remote holding git leases (default origin)',
  json: '  --json               print { "schema_version": 1, "ok": …, "data" | "error": … } on stdout',
};

const EXIT_NOTE = 'Exit codes: 0 ok, 4 held by another owner (conflict), 2 usage error, 1 other failure.';

interface LeaseContext {
  backend: LeaseBackend;
  kind: 'local' | 'git';
  lockDir?: string;
  parse(raw: string): LeaseResource;
}

function backendKind(context: CommandContext): 'local' | 'git' {
  const kind = stringOption(context.values, 'backend') ?? 'local';
  if (kind !== 'local' && kind !== 'git') {
    throw usageError(`Unknown lease backend '${kind}'.`, 'Use --backend local (this machine) or --backend git (a shared remote).');
  }
  if (kind === 'local' && stringOption(context.values, 'remote') !== undefined) {
    throw usageError('--remote is for --backend git.', 'Add --backend git, or drop --remote.');
  }
  return kind;
}

/** `maxTtlMs`: for the commands that write a TTL (acquire, renew), the limit they checked it against. */
function openBackend(context: CommandContext, kind: 'local' | 'git', maxTtlMs?: number): LeaseContext {
  const { io, env } = context;
  if (kind === 'local') {
    const lockDir = resolveLockDir(env);
    return { kind, lockDir, backend: createLeaseBackend({ backend: 'local', lockDir, maxTtlMs }), parse: (raw) => parseResource(raw, { cwd: io.cwd }) };
  }
  const root = gitTopLevel(io.cwd, env);
  const remote = stringOption(context.values, 'remote') ?? 'origin';
  // Paths relative to the top level, so every clone names a directory the same way;
  // the real cwd, since git reports the top level with symlinks resolved.
  const cwd = realpathOr(io.cwd);
  return { kind, backend: createLeaseBackend({ backend: 'git', cwd: io.cwd, remote, env, maxTtlMs }), parse: (raw) => parseResource(raw, { cwd, root }) };
}

function gitTopLevel(cwd: string, env: NodeJS.ProcessEnv): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw gitMissingError();
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw notInGitTreeError(cwd, stderr);
  }
}

function realpathOr(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

function requireResource(context: CommandContext, verb: string): string {
  const raw = stringOption(context.values, 'resource');
  if (raw === undefined || raw.trim() === '') {
    throw usageError(`lock ${verb} needs --resource.`, `For example: lockstep lock ${verb} --resource package:@acme/api${verb === 'acquire' ? ' --ttl 30m' : ''}`);
  }
  return raw;
}

function owner(context: CommandContext): string {
  const explicit = stringOption(context.values, 'owner');
  if (explicit !== undefined && explicit.trim() === '') throw usageError('--owner is empty.', 'Name the owner, e.g. --owner ci@runner-3, or leave --owner out.');
  return defaultLeaseOwner(context.env, explicit?.trim());
}

/** `--wait 5m`; also `--wait 0` (do not wait), the one bare number that is unambiguous. */
function waitOption(context: CommandContext): number {
  const text = stringOption(context.values, 'wait');
  if (text !== undefined && /^\s*0+(ms|s|m|h|d)?\s*$/.test(text)) return 0;
  return durationOption(context.values, 'wait', 'wait') ?? 0;
}

/**
 * `--ttl`, checked against the lease limits: 1s up to LOCKSTEP_MAX_TTL (default 7d).
 * Without --ttl: `fallback` (acquire: 30m, or the maximum if that is lower).
 */
function ttlOption(context: CommandContext, fallback?: string): { ttlMs?: number; maxTtlMs: number } {
  const maxTtlMs = maxLeaseTtlMs(context.env);
  const text = stringOption(context.values, 'ttl');
  if (text !== undefined) return { ttlMs: parseLeaseTtl(text, context.env), maxTtlMs };
  if (fallback === undefined) return { maxTtlMs };
  return { ttlMs: Math.min(parseLeaseTtl(fallback, {}), maxTtlMs), maxTtlMs };
}

async function acquire(context: CommandContext): Promise<CommandOutput> {
  const kind = backendKind(context);
  const raw = requireResource(context, 'acquire');
  const { ttlMs, maxTtlMs } = ttlOption(context, DEFAULT_TTL);
  const waitMs = waitOption(context);
  const who = owner(context);
  const leases = openBackend(context, kind, maxTtlMs);
  const resource = leases.parse(raw);
  const result = await leases.backend.acquire(resource, {
    owner: who,
    ttlMs: ttlMs!,
    waitMs,
    onWait: (info) =>
      context.io.err(safeLines(`Waiting for ${safeText(info.resource, RESOURCE_SHOWN)}: ${holderSummary(info.conflicts)} (waited ${formatDuration(info.waitedMs)} of ${formatDuration(waitMs)})`)),
  });
  const { lease } = result;
  const waited = result.waitedMs >= 1000 ? ` after waiting ${formatDuration(result.waitedMs)}` : '';
  const lines = [`${result.renewed ? 'renewed' : 'acquired'} ${shownResource(lease)} for ${shownOwner(lease)} ${until(lease)}${waited}${result.renewed ? '; this owner already held it' : ''}`];
  if (result.tookOver) {
    const old = result.tookOver;
    const why = old.unsound ? ', whose record could not be believed' : '';
    lines.push(`  took over the expired lease of ${shownOwner(old)}${why} (last renewed ${clockTime(Date.parse(String(old.renewedAt)))})`);
  }
  return { data: result, text: lines.join('\n') };
}

async function renew(context: CommandContext): Promise<CommandOutput> {
  const kind = backendKind(context);
  const raw = requireResource(context, 'renew');
  const { ttlMs, maxTtlMs } = ttlOption(context);
  const who = owner(context);
  const leases = openBackend(context, kind, maxTtlMs);
  const lease = await leases.backend.renew(leases.parse(raw), { owner: who, ttlMs });
  return { data: lease, text: `renewed ${shownResource(lease)} for ${shownOwner(lease)} ${until(lease)}` };
}

async function release(context: CommandContext): Promise<CommandOutput> {
  const kind = backendKind(context);
  const raw = requireResource(context, 'release');
  const who = owner(context);
  const leases = openBackend(context, kind);
  const resource = leases.parse(raw);
  const result = await leases.backend.release(resource, { owner: who });
  const text = result.released
    ? `released ${resource.id} (held by ${who} since ${clockTime(Date.parse(String(result.lease?.acquiredAt ?? '')))})`
    : `${resource.id} was not held: nothing to release`;
  return { data: result, text };
}

async function status(context: CommandContext): Promise<CommandOutput> {
  const kind = backendKind(context);
  const raw = stringOption(context.values, 'resource');
  const leases = openBackend(context, kind);
  const resource = raw === undefined ? undefined : leases.parse(raw);
  const views: LeaseView[] = await leases.backend.status(resource);
  const lines = views.length ? leaseLines(views) : [resource ? `no leases conflict with ${resource.id}` : 'no leases'];
  const data: { backend: string; resource: string | null; leases: LeaseView[]; lock?: unknown } = { backend: kind, resource: resource?.id ?? null, leases: views };
  if (resource?.namespace === 'path' && kind === 'local') {
    const generate = generateLockStatus(resource.name, leases.lockDir!);
    data.lock = generate.data;
    lines.push(...generate.lines);
  }
  return { data, text: lines.join('\n') };
}

async function gc(context: CommandContext): Promise<CommandOutput> {
  const kind = backendKind(context);
  const leases = openBackend(context, kind);
  const result = (await leases.backend.gc()) as { removed: LeaseView[]; lockDirs?: { key: string; path: string }[]; lockDirsKept?: { key: string; path: string }[] };
  const lines: string[] = [];
  if (result.removed.length) {
    lines.push(`removed ${plural(result.removed.length, 'expired lease')}: ${result.removed.map((l) => `${shownResource(l)} (${shownOwner(l)})`).join(', ')}`);
  }
  if (result.lockDirs?.length) lines.push(`removed ${plural(result.lockDirs.length, 'idle lock directory', 'idle lock directories')}: ${result.lockDirs.map((d) => d.key).join(', ')}`);
  if (result.lockDirsKept?.length) lines.push(`kept ${plural(result.lockDirsKept.length, 'lock directory', 'lock directories')} that came into use during gc`);
  if (lines.length === 0) lines.push('nothing to collect: no expired leases' + (kind === 'local' ? ', no idle lock directories' : ''));
  return { data: { backend: kind, ...result }, text: lines.join('\n') };
}

/**
 * `lock break`: removes the lease on exactly R whoever holds it, by
 * compare-and-swap on the version read, and says loudly (stderr, also with
 * --json) whose lease it was, since when, who broke it and why.
 */
async function breakLease(context: CommandContext): Promise<CommandOutput> {
  const kind = backendKind(context);
  const raw = requireResource(context, 'break');
  const reasonText = stringOption(context.values, 'reason');
  if (reasonText === undefined || reasonText.trim() === '') {
    throw usageError('lock break needs --reason: it takes a lease away from its holder.', 'Say why, e.g. lockstep lock break --resource group:deploy --reason "runner-3 died mid-deploy (INC-42)"');
  }
  const by = owner(context);
  const leases = openBackend(context, kind);
  const resource = leases.parse(raw);
  const result = await leases.backend.break(resource, { reason: reasonText });
  const reason = reasonText.trim();
  const data = { backend: kind, resource: resource.id, broken: result.broken, ...(result.holder ? { holder: result.holder } : {}), reason, by };
  if (!result.broken || !result.holder) return { data, text: `${resource.id} was not held: nothing to break` };
  const h = result.holder;
  const state = h.unsound ? 'its record could not be believed' : h.expired ? 'it had expired' : `it was live, ${until(h)}`;
  context.io.err(
    safeLines(
      `[lockstep] !!! Broke the lease on ${resource.id} held by ${shownOwner(h)} since ${isoTime(h.acquiredAt)} (${state}). ` +
        `Broken by ${safeText(by)}; reason: ${safeText(reason, 1024)}`,
    ),
  );
  const text = [
    `broke the lease on ${resource.id}`,
    `  holder:       ${shownOwner(h)}${where(h)}`,
    `  acquired:     ${isoTime(h.acquiredAt)}; last renewed ${isoTime(h.renewedAt)}; ttl ${formatDuration(h.ttlMs)}`,
    `  state:        ${state}`,
    `  broken by:    ${safeText(by)}`,
    `  reason:       ${safeText(reason, 1024)}`,
  ];
  if (!h.expired) text.push(`  The holder may still be running: it finds the lease gone at its next renew (ELEASENOTHELD / ELEASENOTOWNER).`);
  return { data, text: text.join('\n') };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const lockCommands: Command[] = [
  {
    words: ['lock', 'acquire'],
    synopsis: '--resource R [--ttl 30m] [--owner O] [--wait 5m]',
    summary: 'Take a lease on a resource; the same owner acquiring again renews it.',
    options: { resource: { type: 'string' }, ttl: { type: 'string' }, owner: { type: 'string' }, wait: { type: 'string' }, ...BACKEND_OPTIONS },
    help: [
      'Options:',
      OPTION_HELP.resource,
      OPTION_HELP.ttl(`default ${DEFAULT_TTL}`),
      OPTION_HELP.owner,
      OPTION_HELP.wait,
      OPTION_HELP.backend,
      OPTION_HELP.remote,
      OPTION_HELP.json,
      '',
      'An expired lease of another owner is taken over. JSON data: { lease, renewed, tookOver?, waitedMs }.',
      EXIT_NOTE,
      '',
      'Example: lockstep lock acquire --resource package:@acme/api --ttl 15m --owner "ci-$CI_JOB_ID"',
    ].join('\n'),
    run: acquire,
  },
  {
    words: ['lock', 'renew'],
    synopsis: '--resource R [--ttl 30m] [--owner O]',
    summary: 'Extend a lease this owner holds (also one that expired, if nobody took it over).',
    options: { resource: { type: 'string' }, ttl: { type: 'string' }, owner: { type: 'string' }, ...BACKEND_OPTIONS },
    help: [
      'Options:',
      OPTION_HELP.resource,
      OPTION_HELP.ttl('default: the TTL it was acquired with'),
      OPTION_HELP.owner,
      OPTION_HELP.backend,
      OPTION_HELP.remote,
      OPTION_HELP.json,
      '',
      'ELEASENOTOWNER (exit 4) if another owner holds it, ELEASENOTHELD (exit 1) if nobody does. JSON data: the lease.',
      EXIT_NOTE,
    ].join('\n'),
    run: renew,
  },
  {
    words: ['lock', 'release'],
    synopsis: '--resource R [--owner O]',
    summary: 'Give a lease back. Releasing what is not held is not an error.',
    options: { resource: { type: 'string' }, owner: { type: 'string' }, ...BACKEND_OPTIONS },
    help: [
      'Options:',
      OPTION_HELP.resource,
      OPTION_HELP.owner,
      OPTION_HELP.backend,
      OPTION_HELP.remote,
      OPTION_HELP.json,
      '',
      'ELEASENOTOWNER (exit 4) if another owner holds it. JSON data: { released, lease? }.',
      EXIT_NOTE,
    ].join('\n'),
    run: release,
  },
  {
    words: ['lock', 'status'],
    synopsis: '[--resource R]',
    summary: 'List the leases (those conflicting with R); for path: also the generate lock of that directory.',
    options: { resource: { type: 'string' }, ...BACKEND_OPTIONS },
    help: [
      'Options:',
      OPTION_HELP.resource,
      OPTION_HELP.backend,
      OPTION_HELP.remote,
      OPTION_HELP.json,
      '',
      'With --resource path:<dir> on the local backend it also shows who holds the lock a generate',
      'target takes on that outDir, and who waits, in admission order.',
      'JSON data: { backend, resource, leases: [lease…], lock? }.',
      EXIT_NOTE,
    ].join('\n'),
    run: status,
  },
  {
    words: ['lock', 'gc'],
    synopsis: '',
    summary: 'Remove expired leases (and, locally, idle lock directories).',
    options: { ...BACKEND_OPTIONS },
    help: [
      'Options:',
      OPTION_HELP.backend,
      OPTION_HELP.remote,
      OPTION_HELP.json,
      '',
      'Each expired lease is removed only if it is still exactly the lease that was seen expired.',
      'A lease whose record cannot be believed (its ttlMs is not a sane number) counts as expired.',
      'JSON data: { backend, removed: [lease…], lockDirs?: [{ key, path }…] }.',
      EXIT_NOTE,
    ].join('\n'),
    run: gc,
  },
  {
    words: ['lock', 'break'],
    synopsis: '--resource R --reason "…"',
    summary: 'Remove the lease on R whoever holds it (a holder that is gone or stuck), saying loudly whose it was.',
    options: { resource: { type: 'string' }, reason: { type: 'string' }, owner: { type: 'string' }, ...BACKEND_OPTIONS },
    help: [
      'Options:',
      '  --resource R         the lease to break: exactly R (not the leases that merely conflict with it)',
      '  --reason TEXT        required: why (shown and put in the JSON output; at most 1024 printable characters)',
      '  --owner O            who breaks it, for the record (default: $LOCKSTEP_OWNER, else <user>@<host>)',
      OPTION_HELP.backend,
      OPTION_HELP.remote,
      OPTION_HELP.json,
      '',
      'Prints on stderr who held it, since when, who broke it and why; the holder is not asked.',
      'The removal is a compare-and-swap on the version read (git: push --force-with-lease on the oid',
      'read), so a lease renewed or taken in between is never removed: that is ELEASECONFLICT (exit 4).',
      'Breaking what is not held is not an error (broken: false).',
      'JSON data: { backend, resource, broken, holder?: lease, reason, by }.',
      EXIT_NOTE,
      '',
      'Example: lockstep lock break --resource group:deploy --reason "runner-3 died mid-deploy (INC-42)"',
    ].join('\n'),
    run: breakLease,
  },
];
