import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startFaultProxy, FaultProxy, FaultProxyOptions } from '../../../../tools/registry/fault-proxy';
import { startRegistry, writeNpmrc, Registry } from '../../../../tools/registry/verdaccio';
import { createStagingFront, type StagingFront } from '../../../../tools/registry/staging';

export { writeNpmrc };
export type { FaultProxy, Registry };

export interface TestRegistry {
  registry: Registry;
  proxy: FaultProxy;
  /** A workspace dir (package.json + .npmrc pointing at the proxy with the token); HOME for npm config too. */
  workspace: string;
  /** An env for loadNpmConfig/createRegistryClient that reads only `workspace` (HOME=workspace, no global npmrc). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A real Verdaccio behind the fault proxy, and a workspace whose .npmrc
 * points at the proxy. For beforeAll/afterAll of integration specs.
 */
export async function startTestRegistry(proxyOptions: Omit<FaultProxyOptions, 'target'> = {}): Promise<TestRegistry> {
  const registry = await startRegistry();
  let proxy: FaultProxy | undefined;
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'lockstep-registry-ws-'));
  try {
    proxy = await startFaultProxy({ target: registry.url, ...proxyOptions });
    writeFileSync(path.join(workspace, 'package.json'), JSON.stringify({ name: 'ws', private: true }));
    writeNpmrc(workspace, { registry: proxy.url, token: registry.token });
  } catch (error) {
    await proxy?.stop();
    await registry.stop();
    rmSync(workspace, { recursive: true, force: true });
    throw error;
  }
  const env = {
    HOME: workspace,
    PATH: process.env.PATH ?? '',
    NPM_CONFIG_GLOBALCONFIG: path.join(workspace, 'no-global-npmrc'),
    NPM_CONFIG_USERCONFIG: path.join(workspace, 'no-user-npmrc'),
  };
  const p = proxy;
  return {
    registry,
    proxy: p,
    workspace,
    env,
    async stop() {
      await p.stop();
      await registry.stop();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}

export interface StagingRegistry {
  /** The registry behind the front. */
  readonly t: TestRegistry;
  /** A scratch dir for packing, removed after the spec. */
  readonly scratch: string;
  /** npm's staging endpoints in front of Verdaccio: an approved stage becomes a real publish. */
  readonly front: StagingFront;
}

/**
 * For a spec file: a real Verdaccio behind the fault proxy whose front speaks
 * npm's staging endpoints, asking `otp` for approvals and rejections; started
 * in beforeAll, stopped in afterAll. Read its fields inside tests.
 */
export function useStagingRegistry(scratchPrefix: string, otp: string): StagingRegistry {
  let t: TestRegistry | undefined;
  let scratch: string | undefined;
  let front: StagingFront | undefined;
  beforeAll(async () => {
    t = await startTestRegistry();
    scratch = mkdtempSync(path.join(os.tmpdir(), scratchPrefix));
    front = createStagingFront({ target: t.registry.url, registryToken: t.registry.token, otp });
    t.proxy.setOptions({ front });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useStagingRegistry: read its fields inside tests (beforeAll starts it)');
    return value;
  };
  return {
    get t() {
      return started(t);
    },
    get scratch() {
      return started(scratch);
    },
    get front() {
      return started(front);
    },
  };
}

/**
 * Packs a tiny package with libnpmpack (as npm would) from a temp dir under
 * `root`; `extra` changes the bytes of the tarball (another file content).
 */
export async function packTiny(root: string, name: string, version: string, extra = ''): Promise<{ manifest: { name: string; version: string; [k: string]: unknown }; tarball: Buffer }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pack: (spec: string, opts: object) => Promise<Buffer> = require('libnpmpack');
  const dir = mkdtempSync(path.join(root, 'pkg-'));
  mkdirSync(dir, { recursive: true });
  const manifest = { name, version, main: 'index.js', license: 'MIT' };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(path.join(dir, 'index.js'), `module.exports = ${JSON.stringify(`${name}@${version}${extra}`)};\n`);
  const tarball = await pack(dir, { ignoreScripts: true, cache: path.join(root, '.npm-cache') });
  return { manifest, tarball };
}
