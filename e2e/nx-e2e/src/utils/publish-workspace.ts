/**
 * Helpers of the publish e2e specs (publish*.spec.ts): a real Verdaccio
 * behind the fault proxy (one per spec file, started in beforeAll), and Nx
 * workspaces of N packages in levels whose `publish` targets run
 * `@lockstep/nx:publish`, with what the assertions need: the registry's
 * packuments and tarballs read directly (never through the proxy, so the
 * proxy counts only what the executor sent), the journal files, the proxy's
 * records of this workspace's requests, and nx runs that can be SIGKILLed
 * as a whole process group.
 *
 * Every workspace gets its own npm scope (so one registry serves a whole
 * file), its own Nx cache directory inside the workspace (NX_CACHE_DIRECTORY:
 * the journal lives there, where a test can find and corrupt it), its own
 * private lock directory (LOCKSTEP_LOCK_DIR, mode 0700), a user npmrc of its
 * own (npm_config_userconfig), so nothing of the machine's npm config leaks
 * in, and a TMPDIR of its own (where packing stages its copies).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { FaultProxy, FaultProxyOptions, RequestRecord, UploadRecord, startFaultProxy } from '../../../../tools/registry/fault-proxy';
import { Registry, nerfDart, startRegistry, writeNpmrc } from '../../../../tools/registry/verdaccio';
import { nxBin, nxEnv, track } from '../../../../tools/scripts/workspace';
import { waitFor as pollUntil } from '../../../../packages/core/src/test-utils/wait-for';
import { journalLocation } from '../../../../packages/core/src/journal/location';
import { RunResult, TempWorkspace, createTempWorkspace } from './temp-workspace';
import { filesUnder } from './files';

export type { RunResult } from './temp-workspace';

// ---------------------------------------------------------------------------
// The registry of a spec file

export interface PublishRegistry {
  registry: Registry;
  proxy: FaultProxy;
  /** What workspaces point their .npmrc at: the proxy. */
  url: string;
  /** The packument as Verdaccio serves it now (undefined on 404), read directly, bypassing the proxy. */
  packument(name: string): Promise<Packument | undefined>;
  /** The package.json inside the published tarball of name@version, and the tarball's file list. */
  tarball(name: string, version: string): Promise<{ manifest: Record<string, unknown>; files: string[] }>;
  stop(): Promise<void>;
}

export interface Packument {
  name: string;
  'dist-tags': Record<string, string>;
  versions: Record<string, Record<string, unknown> & { dist: { integrity?: string; shasum?: string; tarball: string } }>;
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** `@scope/name` → `@scope%2fname`, as registries expect in paths. */
export function escapeName(name: string): string {
  return name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

/** The entries of a .tgz: path (without the leading `package/`) → bytes. */
export function untar(tgz: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(tgz);
  const out = new Map<string, Buffer>();
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (type === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
    else if (type === '0' || type === '') {
      name = name.replace(/^[^/]+\//, '');
      out.set(name, Buffer.from(data));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Verdaccio + the fault proxy in front of it (options: the proxy's, latency 0 and no faults unless given). */
export async function startPublishRegistry(proxyOptions: Omit<FaultProxyOptions, 'target'> = {}): Promise<PublishRegistry> {
  const registry = await startRegistry();
  let proxy: FaultProxy;
  try {
    proxy = await startFaultProxy({ target: registry.url, ...proxyOptions });
  } catch (error) {
    await registry.stop();
    throw error;
  }
  const packument = async (name: string): Promise<Packument | undefined> => {
    const res = await httpGet(`${registry.url}${escapeName(name)}`, { accept: 'application/json', 'cache-control': 'no-cache' });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${name} from Verdaccio answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
    return JSON.parse(res.body.toString('utf8')) as Packument;
  };
  return {
    registry,
    proxy,
    url: proxy.url,
    packument,
    async tarball(name, version) {
      const doc = await packument(name);
      const entry = doc?.versions[version];
      if (!entry) throw new Error(`${name}@${version} is not on the registry`);
      // The tarball URL names whichever host the publish went through (the proxy): read it from Verdaccio itself.
      const url = new URL(entry.dist.tarball);
      const res = await httpGet(`${registry.url.replace(/\/$/, '')}${url.pathname}`);
      if (res.status !== 200) throw new Error(`GET ${entry.dist.tarball} answered ${res.status}`);
      const files = untar(res.body);
      const pkg = files.get('package.json');
      if (!pkg) throw new Error(`the tarball of ${name}@${version} has no package.json (files: ${[...files.keys()].join(', ')})`);
      return { manifest: JSON.parse(pkg.toString('utf8')), files: [...files.keys()].sort() };
    },
    async stop() {
      await proxy.stop();
      await registry.stop();
    },
  };
}

// ---------------------------------------------------------------------------
// Workspaces

/** One package of a workspace. Dependency maps are keyed by the short name (`utils` → `@<scope>/utils`). */
export interface PackageSpec {
  /** Short name: the folder under packages/ and the Nx project name. */
  short: string;
  private?: boolean;
  /** npm's `files` field. */
  files?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  /** More files of the package folder, relative to it. */
  extraFiles?: Record<string, string>;
  /** More fields of its package.json (e.g. publishConfig). */
  manifest?: Record<string, unknown>;
  /** More options of its publish target. */
  targetOptions?: Record<string, unknown>;
  /** More targets of its project.json (beside publish). */
  targets?: Record<string, unknown>;
}

/**
 * The standard layout: 6 packages in 3 levels.
 *   L0  utils (with `files: ["lib"]` and a file outside it), config
 *   L1  core (utils workspace:^, config workspace:~), internal (private; utils workspace:*)
 *   L2  ui (core workspace:*, peer utils workspace:^, dev config file:../config),
 *       cli (core workspace:~, optional utils workspace:*)
 */
export function sixPackages(): PackageSpec[] {
  return [
    { short: 'utils', files: ['lib'], extraFiles: { 'lib/index.js': "exports.utils = 'utils';\n", 'notes/not-published.md': 'outside `files`\n' } },
    { short: 'config' },
    { short: 'core', dependencies: { utils: 'workspace:^', config: 'workspace:~' } },
    { short: 'internal', private: true, dependencies: { utils: 'workspace:*' } },
    { short: 'ui', dependencies: { core: 'workspace:*' }, peerDependencies: { utils: 'workspace:^' }, devDependencies: { config: 'file:../config' } },
    { short: 'cli', dependencies: { core: 'workspace:~' }, optionalDependencies: { utils: 'workspace:*' } },
  ];
}

/** 12 packages in 4 levels of 3: level n+1 depends on two packages of level n (workspace:^ and workspace:*). */
export function twelvePackages(): PackageSpec[] {
  const specs: PackageSpec[] = [];
  for (let level = 0; level < 4; level++) {
    for (let i = 0; i < 3; i++) {
      const deps = level === 0 ? undefined : { [`l${level - 1}p${i}`]: 'workspace:^', [`l${level - 1}p${(i + 1) % 3}`]: 'workspace:*' };
      specs.push({ short: `l${level}p${i}`, dependencies: deps });
    }
  }
  return specs;
}

export const DEP_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

export interface NxRun {
  /** The nx process (leader of its own process group). */
  child: ChildProcess;
  pid: number;
  /** Output so far (stdout + stderr interleaved as it arrived). */
  output(): string;
  /** Resolves when the process exits. */
  done: Promise<RunResult>;
  /** SIGKILL to the whole process group: nx and every task process it started. */
  killGroup(): void;
}

let workspaceCounter = 0;

/** Runs started by spawnPublish and not yet exited, so afterAll can end them if a test failed half-way. */
const liveRuns = new Set<NxRun>();

/** SIGKILLs the process group of every spawnPublish run still alive (for afterAll). */
export async function killLiveRuns(): Promise<void> {
  const runs = [...liveRuns];
  for (const run of runs) run.killGroup();
  await Promise.all(runs.map((run) => run.done.catch(() => undefined)));
}

export class PublishWorkspace {
  readonly lockDir: string;
  readonly cacheDir: string;
  readonly userNpmrc: string;
  /** TMPDIR of the nx runs (packing stages there), so what they leave behind is this workspace's. */
  readonly tmpDir: string;
  private versions = new Map<string, string>();

  constructor(
    readonly ws: TempWorkspace,
    readonly scope: string,
    readonly specs: PackageSpec[],
    readonly registry: PublishRegistry,
    initialVersion: string,
  ) {
    this.lockDir = ws.scratch('locks');
    fs.mkdirSync(this.lockDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.lockDir, 0o700);
    this.cacheDir = ws.path('.nx', 'cache');
    this.userNpmrc = ws.scratch('user.npmrc');
    fs.writeFileSync(this.userNpmrc, '');
    this.tmpDir = ws.scratch('tmp');
    fs.mkdirSync(this.tmpDir, { recursive: true });
    for (const spec of specs) this.versions.set(spec.short, initialVersion);
  }

  get root(): string {
    return this.ws.root;
  }

  /** `@<scope>/<short>`. */
  name(short: string): string {
    return `@${this.scope}/${short}`;
  }

  get shorts(): string[] {
    return this.specs.map((s) => s.short);
  }

  /** The packages that are published (not private). */
  get publicShorts(): string[] {
    return this.specs.filter((s) => !s.private).map((s) => s.short);
  }

  version(short: string): string {
    return this.versions.get(short)!;
  }

  /** In-run internal runtime dependencies (short names) of a package, as the executor orders them. */
  runtimeDeps(short: string): string[] {
    const spec = this.specs.find((s) => s.short === short)!;
    return [...new Set([...Object.keys(spec.dependencies ?? {}), ...Object.keys(spec.peerDependencies ?? {}), ...Object.keys(spec.optionalDependencies ?? {})])];
  }

  /** Writes package.json (and the other files) of every package with the current versions. */
  writePackages(): void {
    const files: Record<string, string | object> = {};
    for (const spec of this.specs) {
      const dir = `packages/${spec.short}`;
      const manifest: Record<string, unknown> = { name: this.name(spec.short), version: this.version(spec.short), description: `${spec.short} of the lockstep publish e2e`, main: spec.files ? 'lib/index.js' : 'index.js', license: 'MIT' };
      if (spec.private) manifest.private = true;
      if (spec.files) manifest.files = spec.files;
      Object.assign(manifest, spec.manifest);
      for (const field of DEP_FIELDS) {
        const deps = spec[field];
        if (deps) manifest[field] = Object.fromEntries(Object.entries(deps).map(([dep, range]) => [this.name(dep), range]));
      }
      files[`${dir}/package.json`] = manifest;
      if (!spec.files) files[`${dir}/index.js`] = `exports.name = ${JSON.stringify(spec.short)};\n`;
      for (const [rel, content] of Object.entries(spec.extraFiles ?? {})) files[`${dir}/${rel}`] = content;
      files[`${dir}/project.json`] = {
        name: spec.short,
        root: dir,
        targets: { ...spec.targets, publish: { executor: '@lockstep/nx:publish', options: { ...(spec.targetOptions ?? {}) } } },
      };
    }
    this.ws.write(files);
  }

  /** Sets the version of the given packages (all when omitted) and rewrites the manifests. */
  setVersion(version: string, shorts: string[] = this.shorts): void {
    for (const short of shorts) this.versions.set(short, version);
    this.writePackages();
  }

  /** The project .npmrc: registry= the proxy and its nerf-darted token line. */
  writeNpmrc(token = this.registry.registry.token): void {
    writeNpmrc(this.root, { registry: this.registry.url, token });
  }

  /** `git add -A && git commit`; returns the new HEAD. */
  commit(message: string): string {
    execFileSync('git', ['add', '-A'], { cwd: this.root });
    execFileSync('git', ['-c', 'user.name=lockstep-e2e', '-c', 'user.email=e2e@lockstep.invalid', '-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message], { cwd: this.root });
    return this.head();
  }

  head(): string {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: this.root, encoding: 'utf8' }).trim();
  }

  /** Environment of every nx run of this workspace. */
  env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    // npm/npx set npm_config_* for their children (userconfig, prefix, …); npm's config reads them above the project .npmrc.
    const inherited: Record<string, undefined> = {};
    for (const key of Object.keys(process.env)) if (/^npm_config_/i.test(key)) inherited[key] = undefined;
    return {
      ...inherited,
      NX_CACHE_DIRECTORY: this.cacheDir,
      LOCKSTEP_LOCK_DIR: this.lockDir,
      npm_config_userconfig: this.userNpmrc,
      TMPDIR: this.tmpDir,
      NPM_CONFIG_USERCONFIG: undefined,
      NODE_AUTH_TOKEN: undefined,
      NPM_TOKEN: undefined,
      NX_DRY_RUN: undefined,
      ...extra,
    };
  }

  /**
   * `nx run-many -t publish --output-style=static <args>`; never rejects on failure.
   * Per-task mode unless `args` say `--batch` (the executor prefers batch, so per task needs `--batch=false`).
   */
  publish(args: string[] = [], options: { env?: Record<string, string | undefined>; onLine?: (stream: 'stdout' | 'stderr', line: string) => void } = {}): Promise<RunResult> {
    return this.ws.nx(['run-many', '-t', 'publish', '--output-style=static', ...withMode(args)], { env: this.env(options.env), onLine: options.onLine });
  }

  /**
   * Like publish() (per task unless `--batch`), but nx leads its own process group so killGroup() SIGKILLs it and every task process at once.
   * `appendTo`: nx writes stdout and stderr to this file, opened for appending (as `nx … >> file` does), instead of pipes to this process
   * (which Node makes sockets); output() and the result read it.
   */
  spawnPublish(args: string[] = [], options: { env?: Record<string, string | undefined>; onLine?: (line: string) => void; appendTo?: string } = {}): NxRun {
    const template = process.env.LOCKSTEP_E2E_TEMPLATE!;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(nxEnv(this.env(options.env)))) if (v !== undefined) env[k] = v;
    const started = Date.now();
    const logFd = options.appendTo === undefined ? undefined : fs.openSync(options.appendTo, 'a');
    const child = track(
      spawn(process.execPath, [nxBin(template), 'run-many', '-t', 'publish', '--output-style=static', ...withMode(args)], {
        cwd: this.root,
        env,
        detached: true,
        stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
      }),
    );
    if (logFd !== undefined) fs.closeSync(logFd);
    const logged = () => (options.appendTo === undefined ? '' : fs.readFileSync(options.appendTo, 'utf8'));
    let out = '';
    let stdout = '';
    let stderr = '';
    let pending = '';
    const feed = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      const text = chunk.toString();
      out += text;
      if (stream === 'stdout') stdout += text;
      else stderr += text;
      if (!options.onLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) options.onLine(line);
    };
    child.stdout?.on('data', (c: Buffer) => feed('stdout', c));
    child.stderr?.on('data', (c: Buffer) => feed('stderr', c));
    const done = new Promise<RunResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (options.appendTo !== undefined) out = stdout = logged();
        resolve({ code, signal, stdout, stderr, output: out, durationMs: Date.now() - started, pid: child.pid });
      });
    });
    const run: NxRun = {
      child,
      pid: child.pid!,
      output: () => (options.appendTo === undefined ? out : logged()),
      done,
      killGroup: () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      },
    };
    liveRuns.add(run);
    child.once('close', () => liveRuns.delete(run));
    return run;
  }

  // --- the journal -----------------------------------------------------------

  journalDir(target = 'publish'): string {
    return journalLocation(this.cacheDir, target);
  }

  /** Every file of the journal (run.json, packages/*.json), path → text; {} when there is no journal. */
  journalFiles(target = 'publish'): Record<string, string> {
    const dir = this.journalDir(target);
    const out: Record<string, string> = {};
    for (const file of filesUnder(dir)) {
      try {
        out[path.relative(dir, file)] = fs.readFileSync(file, 'utf8');
      } catch (error) {
        // a journal temp file renamed into place between the listing and the read
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return out;
  }


  /** run.json and the package records, parsed (throws naming the file if one does not parse). */
  readJournal(target = 'publish'): { run: Record<string, any> | undefined; records: Record<string, Record<string, any>> } {
    const files = this.journalFiles(target);
    const parse = (rel: string) => {
      try {
        return JSON.parse(files[rel]);
      } catch (error) {
        throw new Error(`journal file ${rel} does not parse: ${(error as Error).message}\n${JSON.stringify(files[rel])}`);
      }
    };
    const records: Record<string, Record<string, any>> = {};
    for (const rel of Object.keys(files)) {
      if (/^packages\/[^/]+\.json$/.test(rel)) {
        const record = parse(rel);
        records[record.name] = record;
      }
    }
    return { run: files['run.json'] === undefined ? undefined : parse('run.json'), records };
  }

  recordFile(short: string, target = 'publish'): string {
    return path.join(this.journalDir(target), 'packages', `${this.name(short).replace('/', '+')}.json`);
  }

  // --- what the proxy saw ------------------------------------------------------

  /** Uploads (publish PUTs) of this workspace's packages the proxy saw, in arrival order (all, or only those that reached Verdaccio). */
  uploads(options: { forwardedOnly?: boolean } = {}): UploadRecord[] {
    return this.registry.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${this.scope}/`) && (!options.forwardedOnly || u.forwarded));
  }

  /** Every request about this workspace's packages the proxy saw. */
  requests(): RequestRecord[] {
    const marker = `@${this.scope}/`;
    return this.registry.proxy.stats.log.filter((r) => {
      let decoded = r.path;
      try {
        decoded = decodeURIComponent(r.path);
      } catch {
        // keep it raw
      }
      return decoded.includes(marker);
    });
  }

  /** Any process (other than this test's) whose working directory is inside the workspace: nx or a task process. */
  livingProcesses(): Array<{ pid: number; cmd: string }> {
    const found: Array<{ pid: number; cmd: string }> = [];
    let pids: string[];
    try {
      pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return found;
    }
    const root = fs.realpathSync(this.root);
    for (const pid of pids) {
      if (Number(pid) === process.pid) continue;
      try {
        const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
        if (cwd === root || cwd.startsWith(`${root}/`)) {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
          found.push({ pid: Number(pid), cmd });
        }
      } catch {
        // gone, or not ours to read
      }
    }
    return found;
  }

  remove(): void {
    this.ws.remove();
  }
}

/**
 * A workspace of `specs` under the npm scope `<scopeBase>-<n><random>` with
 * every version `initialVersion`: package.json (npm workspaces packages/*),
 * nx.json (publish dependsOn ^publish), a .npmrc pointing at the registry's
 * proxy with its token, and one commit.
 */
export async function createPublishWorkspace(
  scopeBase: string,
  registry: PublishRegistry,
  options: { specs?: PackageSpec[]; initialVersion?: string; nxJson?: Record<string, unknown> } = {},
): Promise<PublishWorkspace> {
  const scope = `${scopeBase}-${++workspaceCounter}${Math.random().toString(36).slice(2, 6)}`.toLowerCase();
  const ws = await createTempWorkspace(`publish-${scopeBase}`, {
    'package.json': { name: `${scope}-root`, version: '0.0.0', private: true, workspaces: ['packages/*'] },
    'nx.json': options.nxJson ?? { targetDefaults: { publish: { dependsOn: ['^publish'] } } },
    // The journal lives in .nx/cache; the .npmrc with the token is not committed (as in CI).
    '.gitignore': 'node_modules\ndist\n.nx\n.npmrc\n',
  });
  const pws = new PublishWorkspace(ws, scope, options.specs ?? sixPackages(), registry, options.initialVersion ?? '1.0.0');
  pws.writePackages();
  pws.writeNpmrc();
  pws.commit('initial');
  return pws;
}

// ---------------------------------------------------------------------------
// Reading outputs

/** The `[lockstep] …` lines of an output, without Nx's prefixes. */
export function lockstepLines(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.slice(line.indexOf('[lockstep]')))
    .filter((line) => line.startsWith('[lockstep]'));
}

/** The counts line of the summary table, e.g. `6 published, 1 skipped, 0 failed, 0 blocked in 1.6 s.`, parsed (every occurrence). */
export function summaryCounts(output: string): Array<Record<'published' | 'skipped' | 'failed' | 'blocked', number>> {
  const out: Array<Record<'published' | 'skipped' | 'failed' | 'blocked', number>> = [];
  for (const m of output.matchAll(/(\d+) published, (\d+) skipped, (\d+) failed, (\d+) blocked/g)) {
    out.push({ published: Number(m[1]), skipped: Number(m[2]), failed: Number(m[3]), blocked: Number(m[4]) });
  }
  return out;
}

/** Dependency specs of a manifest that a registry cannot resolve (`workspace:`, `file:`, `link:`), as `field.dep=spec`. */
export function localSpecs(manifest: Record<string, unknown>): string[] {
  const bad: string[] = [];
  for (const field of DEP_FIELDS) {
    for (const [dep, spec] of Object.entries((manifest[field] ?? {}) as Record<string, string>)) {
      if (/^(workspace|file|link):/.test(String(spec))) bad.push(`${field}.${dep}=${spec}`);
    }
  }
  return bad;
}

/** The nerf-darted token key of the proxy (`//127.0.0.1:PORT/`). */
export function proxyNerfDart(registry: PublishRegistry): string {
  return nerfDart(registry.url);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `fn()` is true (polling every 25 ms), or throws "Timed out after Xs
 * waiting for <what>" after `timeoutMs`: core's test-utils/wait-for.ts, in the
 * positional form these specs use.
 */
export async function waitFor(fn: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  await pollUntil(fn, { timeoutMs, what, intervalMs: 25 });
}

// ---------------------------------------------------------------------------
// Assertions shared by the publish specs

/** Prints a run's output when LOCKSTEP_E2E_DEBUG=1. */
export function show(label: string, result: { output: string; code?: number | null; durationMs?: number }): void {
  if (process.env.LOCKSTEP_E2E_DEBUG === '1') console.log(`===== ${label} (exit ${result.code}, ${result.durationMs} ms) =====\n${result.output}`);
}

/** An upload that landed: answered 2xx, or forwarded and then its answer lost on purpose by the proxy (a `*-after` fault). */
export const landed = (u: UploadRecord) => u.forwarded && ((typeof u.status === 'number' && u.status >= 200 && u.status < 300) || Boolean(u.fault?.endsWith('-after')));

function describeUploads(uploads: UploadRecord[]): string {
  return uploads.map((u) => `${u.name}@${u.version} ${u.status}${u.fault ? ` (${u.fault})` : ''}${u.forwarded ? '' : ' not forwarded'}`).join('; ');
}

/**
 * Every public package's current version reached Verdaccio exactly once,
 * answered 2xx; the private packages never; nothing else of the workspace
 * was uploaded among `uploads`.
 */
export function expectEveryVersionOnce(pws: PublishWorkspace, uploads: UploadRecord[], shorts: string[] = pws.publicShorts): void {
  const problems: string[] = [];
  for (const short of pws.shorts) {
    const name = pws.name(short);
    const version = pws.version(short);
    const forwarded = uploads.filter((u) => u.name === name && u.version === version && u.forwarded);
    const wanted = shorts.includes(short) ? 1 : 0;
    if (forwarded.length !== wanted) problems.push(`${name}@${version}: ${forwarded.length} uploads reached the registry, expected ${wanted}`);
    if (wanted === 1 && forwarded.length === 1 && !landed(forwarded[0])) problems.push(`${name}@${version}: the upload was answered ${forwarded[0].status}`);
  }
  const known = new Set(pws.shorts.map((s) => `${pws.name(s)}@${pws.version(s)}`));
  for (const u of uploads) if (u.forwarded && !known.has(`${u.name}@${u.version}`)) problems.push(`unexpected upload ${u.name}@${u.version}`);
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\nuploads seen: ${describeUploads(uploads)}`);
}

/** G1 as the proxy saw it: each successful upload started after the successful uploads of all its in-run dependencies had ended. */
export function expectDependencyOrder(pws: PublishWorkspace, uploads: UploadRecord[]): void {
  const done = new Map<string, UploadRecord>();
  for (const u of uploads) if (landed(u)) done.set(u.name, u);
  const problems: string[] = [];
  for (const short of pws.shorts) {
    const mine = done.get(pws.name(short));
    if (!mine) continue;
    for (const dep of pws.runtimeDeps(short)) {
      const theirs = done.get(pws.name(dep));
      if (!theirs) continue; // private, or not in this run
      if (!(theirs.end !== undefined && theirs.end <= mine.start)) {
        problems.push(`${mine.name} started uploading at ${mine.start.toFixed(1)} before ${theirs.name}'s upload ended (${theirs.end?.toFixed(1)})`);
      }
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** What a workspace spec must become in the published manifest, for a dependency at `version`. */
export function expectedSpec(spec: string, version: string): string {
  if (spec === 'workspace:*' || /^(file|link):/.test(spec)) return version;
  if (spec === 'workspace:^') return `^${version}`;
  if (spec === 'workspace:~') return `~${version}`;
  if (spec.startsWith('workspace:')) return spec.slice('workspace:'.length);
  return spec;
}

/**
 * For every public package (or `shorts`): the version is on the registry,
 * `latest` points at it, its packument entry and the package.json in its
 * tarball carry real versions (no `workspace:`, `file:`, `link:`) equal to
 * what the workspace specs mean, and a package with `files` published only those.
 */
export async function expectRealManifests(pws: PublishWorkspace, shorts: string[] = pws.publicShorts, versionOf: (short: string) => string = (s) => pws.version(s)): Promise<void> {
  for (const short of shorts) {
    const spec = pws.specs.find((s) => s.short === short)!;
    const name = pws.name(short);
    const version = pws.version(short);
    const doc = await pws.registry.packument(name);
    expect(doc?.versions?.[version]).toBeDefined();
    const entry = doc!.versions[version];
    expect({ name, latest: doc!['dist-tags'].latest }).toEqual({ name, latest: version });
    const { manifest, files } = await pws.registry.tarball(name, version);
    expect({ name, packument: localSpecs(entry), tarball: localSpecs(manifest) }).toEqual({ name, packument: [], tarball: [] });
    for (const field of DEP_FIELDS) {
      const wanted = spec[field] ? Object.fromEntries(Object.entries(spec[field]!).map(([dep, s]) => [pws.name(dep), expectedSpec(s, versionOf(dep))])) : undefined;
      expect({ name, field, deps: manifest[field] }).toEqual({ name, field, deps: wanted });
      expect({ name, field, deps: entry[field] }).toEqual({ name, field, deps: wanted });
    }
    if (spec.files) {
      const expected = ['package.json', ...Object.keys(spec.extraFiles ?? {}).filter((rel) => spec.files!.some((f) => rel === f || rel.startsWith(`${f}/`)))].sort();
      expect({ name, files }).toEqual({ name, files: expected });
    }
  }
}

/**
 * The set-up every publish spec file shares: one registry (behind the fault
 * proxy) for the file, and workspaces that are removed, with any nx run still
 * alive in them, when the file is done. `onStart` receives the registry.
 */
export function usePublishSuite(
  onStart: (reg: PublishRegistry) => void,
): (scope: string, options?: Parameters<typeof createPublishWorkspace>[2]) => Promise<PublishWorkspace> {
  let reg: PublishRegistry | undefined;
  const workspaces: PublishWorkspace[] = [];
  beforeAll(async () => {
    reg = await startPublishRegistry();
    onStart(reg);
  });
  afterAll(async () => {
    await killLiveRuns();
    for (const pws of workspaces) pws.remove();
    await reg?.stop();
  });
  return async (scope, options = {}) => {
    const pws = await createPublishWorkspace(scope, reg!, options);
    workspaces.push(pws);
    return pws;
  };
}

// ---------------------------------------------------------------------------
// Headers the registry received (publish-preflight.spec.ts)

/**
 * Records the value of `header` on every upload the proxy sees from now on
 * (through its `rules` hook, injecting no fault) until stop(). Used to prove
 * what reached the registry, e.g. the `npm-otp` header.
 */
export function recordUploadHeader(registry: PublishRegistry, header: string): { seen: Array<{ name?: string; version?: string; value: string | undefined }>; stop(): void } {
  const seen: Array<{ name?: string; version?: string; value: string | undefined }> = [];
  registry.proxy.setOptions({
    rules: (req) => {
      if (req.isUpload) {
        const value = req.headers[header.toLowerCase()];
        seen.push({ name: req.name, version: req.version, value: Array.isArray(value) ? value.join(',') : value });
      }
      return undefined;
    },
  });
  return { seen, stop: () => registry.proxy.setOptions({ rules: undefined }) };
}

/** The tests say `--batch` for batch mode and nothing for per-task mode: the latter is `--batch=false` since publish prefers batch. */
function withMode(args: string[]): string[] {
  return args.some((a) => a === '--batch' || a.startsWith('--batch=')) ? args : ['--batch=false', ...args];
}
