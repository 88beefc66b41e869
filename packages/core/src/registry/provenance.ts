import type { LockstepError } from '../errors';
import { statusOf } from './classify';
import type { NpmConfig } from './npm-config';
import { escapeName } from './registry-client';
import { detectOidcProvider, type IdentityClaims } from './oidc';
import { provenanceError } from './errors';

/** What libnpmpublish is told about provenance for one upload. */
export type ProvenanceOptions = { provenance: boolean } | { provenance: false; provenanceFile: string };

export interface ProvenanceInput {
  /** lockstep's `provenance` option (undefined: not set). */
  option?: boolean;
  /** lockstep's `provenanceFile` option. */
  file?: string;
  config: Pick<NpmConfig, 'provenance' | 'options'>;
  env: NodeJS.ProcessEnv;
  /** The claims of the identity behind this upload's exchanged token (trusted publishing), if any. */
  exchanged?: { claims: IdentityClaims };
  /** GET of a registry path (`/-/package/<name>/visibility`); throws on HTTP errors. */
  visibility: (path: string) => Promise<unknown>;
  name: string;
}

/**
 * Whether an upload carries a provenance attestation, made by npm's own
 * libraries (libnpmpublish signs through sigstore, or attaches and checks
 * `provenanceFile`). Explicit settings win (lockstep's option, then npm's
 * config: `provenance=true` in .npmrc, NPM_CONFIG_PROVENANCE=true). Without
 * one, trusted publishing turns it on as npm 11 does (`lib/utils/oidc.js`):
 * not on CircleCI, the job's repository public (GitHub Actions), or public
 * with SIGSTORE_ID_TOKEN present (GitLab CI), and the registry calling the
 * package public. Any doubt (an error asking) leaves it off, as in npm.
 */
export async function attachProvenance(input: ProvenanceInput): Promise<ProvenanceOptions> {
  const file = input.file ?? (typeof input.config.options.provenanceFile === 'string' ? input.config.options.provenanceFile : undefined);
  if (file) return { provenance: false, provenanceFile: file };
  if (input.option !== undefined) return { provenance: input.option };
  if (input.config.provenance) return { provenance: true };
  if (!input.exchanged) return { provenance: false };
  const provider = detectOidcProvider(input.env);
  const { visibility } = input.exchanged.claims;
  const publicJob =
    (provider === 'GitHub Actions' && visibility === 'public') || (provider === 'GitLab CI' && visibility === 'public' && Boolean(input.env.SIGSTORE_ID_TOKEN));
  if (!publicJob) return { provenance: false };
  try {
    const answer = (await input.visibility(`/-/package/${escapeName(input.name)}/visibility`)) as { public?: unknown } | undefined;
    return { provenance: answer?.public === true };
  } catch {
    return { provenance: false };
  }
}

const PROVENANCE_WORDS = /provenance|sigstore|bundle|fulcio|rekor|\btuf\b|attest|subject|certificate|signature|transparency/i;

/**
 * A failure of the provenance step of an upload (libnpmpublish builds the
 * attestation before it sends anything) as EPROVENANCE; undefined for every
 * other failure (HTTP answers, network errors: the client's usual handling).
 */
export function provenanceFailure(error: unknown, used: ProvenanceOptions, name: string, version: string, redact: (text: string) => string): LockstepError | undefined {
  const fromFile = 'provenanceFile' in used;
  if (!used.provenance && !fromFile) return undefined;
  if (!error || typeof error !== 'object' || statusOf(error) !== undefined) return undefined;
  const e = error as { message?: unknown; code?: unknown; name?: unknown };
  const said = [e.name, e.code, e.message].filter((v) => typeof v === 'string').join(' ');
  if (!PROVENANCE_WORDS.test(said)) return undefined;
  return provenanceError(name, version, redact(typeof e.message === 'string' ? e.message : String(error)), fromFile);
}
