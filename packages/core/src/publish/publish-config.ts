import { validRange } from 'semver';
import type { LockstepError } from '../errors';
import { publishConfigInvalidError } from './errors';

/** What lockstep honours of a package's publishConfig (npm flattens it over its config, except keys given as flags). */
export interface PublishConfig {
  registry?: string;
  tag?: string;
  access?: 'public' | 'restricted';
  provenance?: boolean;
}

/**
 * Reads a package's publishConfig as npm publish would apply it: registry,
 * tag, access and provenance. Keys npm reads as configuration that change
 * where the package goes (`@scope:registry`, `//host:…` credentials) are
 * refused rather than ignored; other keys (pnpm's `directory`, `main`, …) are
 * left alone, as npm leaves keys it does not know. Returns the honoured
 * values and every problem (EBADMANIFEST), never throws.
 */
export function readPublishConfig(pkg: { name: string; version: string; publishConfig?: unknown }): { config: PublishConfig; problems: LockstepError[] } {
  const raw = pkg.publishConfig;
  const config: PublishConfig = {};
  const problems: LockstepError[] = [];
  if (raw === undefined || raw === null) return { config, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(publishConfigInvalidError(pkg, ` is ${JSON.stringify(raw)}, not an object.`, 'Write it as an object, e.g. "publishConfig": {"access": "public", "tag": "next"}, or remove it.'));
    return { config, problems };
  }
  const entries = raw as Record<string, unknown>;
  const { registry, tag, access, provenance } = entries;
  if (registry !== undefined) {
    if (typeof registry === 'string' && isHttpUrl(registry)) config.registry = registry;
    else problems.push(publishConfigInvalidError(pkg, `.registry is ${JSON.stringify(registry)}, not an http(s) URL.`, 'Use a registry URL such as "https://registry.npmjs.org/", or remove publishConfig.registry to publish where npm\'s configuration (or the target\'s registry option) says.'));
  }
  if (tag !== undefined) {
    if (typeof tag === 'string' && tag.trim() !== '' && validRange(tag.trim()) === null && encodeURIComponent(tag.trim()) === tag.trim()) config.tag = tag.trim();
    else problems.push(publishConfigInvalidError(pkg, `.tag is ${JSON.stringify(tag)}, not a dist-tag.`, 'A dist-tag is a URL-safe name that is not a version or range, e.g. "next" or "beta".'));
  }
  if (access !== undefined) {
    if (access === 'public' || access === 'restricted') config.access = access;
    else problems.push(publishConfigInvalidError(pkg, `.access is ${JSON.stringify(access)}, not "public" or "restricted".`, 'Use "public" or "restricted", or remove publishConfig.access to use npm\'s default.'));
  }
  if (provenance !== undefined) {
    if (typeof provenance === 'boolean') config.provenance = provenance;
    else problems.push(publishConfigInvalidError(pkg, `.provenance is ${JSON.stringify(provenance)}, not true or false.`, 'Use true or false (a JSON boolean, not a string).'));
  }
  for (const key of Object.keys(entries)) {
    if (/^@[^:]+:registry$/.test(key) || key.startsWith('//')) {
      problems.push(
        publishConfigInvalidError(pkg, ` has "${key}", which lockstep does not apply.`, key.startsWith('//')
          ? 'Credentials do not belong in package.json (it is published): put them in .npmrc or the environment.'
          : 'Use publishConfig.registry (or an "@scope:registry" line in .npmrc) to choose where the package goes.'),
      );
    }
  }
  return { config, problems };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
