/**
 * Trusted publishing (OIDC) with the real nx binary and a real Verdaccio:
 * the fault proxy in front of it answers npm's token exchange
 * (tools/registry/trusted-publishing.js), a loopback endpoint plays GitHub
 * Actions' identity service, and the workspace has no token at all.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CiIdentity, TrustedPublishingFront, createTrustedPublishingFront, startCiIdentity } from '../../../tools/registry/trusted-publishing';
import { expectSuccess } from './utils/temp-workspace';
import { PublishRegistry, PublishWorkspace, expectDependencyOrder, expectEveryVersionOnce, show, summaryCounts, twelvePackages, usePublishSuite } from './utils/publish-workspace';
import { filesUnder } from './utils/files';

const TEST_TIMEOUT_MS = 300_000;

let reg: PublishRegistry;
const workspace = usePublishSuite((r) => {
  reg = r;
});

let ci: CiIdentity;
beforeAll(async () => {
  ci = await startCiIdentity({
    claims: { repository: 'acme/widgets', workflow_ref: 'acme/widgets/.github/workflows/release.yml@refs/heads/main', repository_visibility: 'private' },
  });
});
afterAll(async () => {
  reg?.proxy.setOptions({ front: undefined });
  await ci?.stop();
});

/** Every file under `dir` (journal, lock dir), path → text. */
function textsUnder(dir: string): Array<[string, string]> {
  return filesUnder(dir).map((file) => [file, fs.readFileSync(file, 'latin1')]);
}

/** No identity token, request token or exchanged token anywhere in the run's output, journal, lock files or Nx's cache dir. */
function expectNoSecrets(pws: PublishWorkspace, output: string, front: TrustedPublishingFront): void {
  const secrets = [ci.requestToken, ...ci.issued, ...front.tokens()];
  expect(secrets.length).toBeGreaterThan(2);
  const places: Array<[string, string]> = [['output', output], ...textsUnder(pws.cacheDir), ...textsUnder(pws.lockDir), ...textsUnder(path.join(pws.root, '.nx'))];
  const leaks = places.flatMap(([where, text]) => secrets.filter((s) => text.includes(s)).map(() => where));
  expect(leaks).toEqual([]);
}

describe('trusted publishing (OIDC exchange per package, no token configured)', () => {
  it(
    '12 packages in 4 levels from a GitHub Actions job: every upload carries its own package\'s exchanged token, dependency order kept, no token or identity in output, journal or lock files',
    async () => {
      const front = createTrustedPublishingFront({ registryToken: reg.registry.token });
      reg.proxy.setOptions({ front });
      const pws = await workspace('oidc', { specs: twelvePackages() });
      pws.writeNpmrc('');
      const result = await pws.publish(['--batch'], { env: ci.env() });
      show('trusted publishing, 12 packages', result);
      expectSuccess(result, 'nx run-many -t publish (trusted publishing)');
      expect(summaryCounts(result.output)).toEqual([{ published: 12, skipped: 0, failed: 0, blocked: 0 }]);
      const uploads = reg.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`));
      expectEveryVersionOnce(pws, uploads);
      expectDependencyOrder(pws, uploads);
      // Each upload used a token exchanged for that very package (the front refuses any other), one exchange per package.
      const mine = front.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`));
      expect(mine.map((u) => u.name).sort()).toEqual(pws.publicShorts.map((s) => pws.name(s)).sort());
      expect(new Set(mine.map((u) => u.token)).size).toBe(12);
      expect(front.exchanges.filter((e) => e.status === 201)).toHaveLength(12);
      expect(result.output).toContain('trusted publishing from GitHub Actions');
      expectNoSecrets(pws, result.output, front);

      // A second run skips everything and exchanges nothing more (no upload, no token needed).
      const second = await pws.publish(['--batch'], { env: ci.env() });
      expectSuccess(second, 'the second run');
      expect(summaryCounts(second.output)).toEqual([{ published: 0, skipped: 12, failed: 0, blocked: 0 }]);
      expect(front.exchanges.filter((e) => e.status === 201)).toHaveLength(12);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'one package without a trusted publisher: EOIDC for it (hint names repository, workflow file, environment), its dependents blocked, the rest published',
    async () => {
      const pws = await workspace('oidc-missing', { specs: twelvePackages() });
      const untrusted = pws.name('l1p0');
      const front = createTrustedPublishingFront({ registryToken: reg.registry.token, trusted: (name) => name !== untrusted });
      reg.proxy.setOptions({ front });
      pws.writeNpmrc('');
      const result = await pws.publish(['--batch'], { env: ci.env() });
      show('trusted publishing, one package untrusted', result);
      expect(result.code).not.toBe(0);
      // l1p0 is needed by l2p0 and l2p2; they by every l3 package.
      const blocked = ['l2p0', 'l2p2', 'l3p0', 'l3p1', 'l3p2'];
      expect(summaryCounts(result.output)).toEqual([{ published: 6, skipped: 0, failed: 1, blocked: blocked.length }]);
      expect(result.output).toMatch(/\[EOIDC\][^\n]*did not exchange this GitHub Actions job's identity for a publish token of @[^\s]+\/l1p0/);
      expect(result.output).toMatch(/Add a trusted publisher to @[^\s]+\/l1p0[^\n]*repository acme\/widgets, workflow file release\.yml, environment \(none/);
      const uploaded = reg.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`) && u.forwarded).map((u) => u.name).sort();
      const expected = pws.publicShorts.filter((s) => s !== 'l1p0' && !blocked.includes(s)).map((s) => pws.name(s)).sort();
      expect(uploaded).toEqual(expected);
      expectNoSecrets(pws, result.output, front);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'outside CI nothing changes (no token is EAUTH before the first upload); GitHub Actions without id-token permission is EOIDC before the first upload; nothing exchanged either way',
    async () => {
      const front = createTrustedPublishingFront({ registryToken: reg.registry.token });
      reg.proxy.setOptions({ front });
      const pws = await workspace('oidc-local', { specs: twelvePackages().slice(0, 3) });
      pws.writeNpmrc('');
      const result = await pws.publish(['--batch'], { env: { GITHUB_ACTIONS: undefined, GITLAB_CI: undefined, CIRCLECI: undefined } });
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('[EPREFLIGHT]');
      expect(result.output).toContain('EAUTH');
      expect(front.exchanges).toEqual([]);
      expect(reg.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`))).toEqual([]);

      // GitHub Actions without `id-token: write` (no request URL): EOIDC before the first upload (G6), with the permission to add.
      const noPermission = await pws.publish(['--batch'], { env: { GITHUB_ACTIONS: 'true' } });
      expect(noPermission.code).not.toBe(0);
      expect(noPermission.output).toContain('[EPREFLIGHT]');
      expect(noPermission.output).toMatch(/EOIDC[^\n]*GitHub Actions gave no identity token for trusted publishing/);
      expect(noPermission.output).toContain('permissions: id-token: write');
      expect(front.exchanges).toEqual([]);
      expect(reg.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`))).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'provenance through npm\'s library: a provenanceFile made for another package, and provenance: true (sigstore signing with the job identity; Fulcio unreachable here), are EPROVENANCE for that package with nothing of it uploaded; the others are published',
    async () => {
      reg.proxy.setOptions({ front: undefined });
      const specs = twelvePackages().slice(0, 3);
      specs[0] = { ...specs[0], targetOptions: { provenanceFile: 'other.sigstore' } };
      specs[1] = { ...specs[1], targetOptions: { provenance: true } };
      const pws = await workspace('provenance', { specs });
      // A sigstore bundle whose in-toto subject is another package: libnpmpublish compares it with the tarball before anything is sent.
      const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'pkg:npm/%40other/pkg@1.0.0', digest: { sha512: '00' } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} };
      const bundle = {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {},
        dsseEnvelope: { payload: Buffer.from(JSON.stringify(statement)).toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [] },
      };
      fs.writeFileSync(path.join(pws.root, 'other.sigstore'), JSON.stringify(bundle));
      const issuedBefore = ci.issued.length;
      const result = await pws.publish(['--batch'], { env: ci.env() });
      show('provenance refused', result);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/\[EPROVENANCE\][^\n]*l0p0@1\.0\.0: Provenance subject pkg:npm\/%40other\/pkg@1\.0\.0 does not match the package/);
      // provenance: true went into sigstore's signing: it asked the job's identity endpoint for a 'sigstore' token, then Fulcio (unreachable here).
      expect(result.output).toMatch(/\[EPROVENANCE\][^\n]*l0p1@1\.0\.0: error creating signing certificate/);
      const audiences = ci.issued.slice(issuedBefore).map((jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')).aud);
      expect(audiences).toContain('sigstore');
      // Nx repeats a failed task's output (the batch's summary with it) after the run.
      expect(new Set(summaryCounts(result.output).map((c) => JSON.stringify(c)))).toEqual(new Set([JSON.stringify({ published: 1, skipped: 0, failed: 2, blocked: 0 })]));
      const uploaded = reg.proxy.stats.uploads.filter((u) => u.name.startsWith(`@${pws.scope}/`)).map((u) => u.name);
      expect(uploaded).toEqual([pws.name('l0p2')]);
    },
    TEST_TIMEOUT_MS,
  );
});
