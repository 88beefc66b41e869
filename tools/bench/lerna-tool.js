'use strict';
/**
 * Lerna for the side-by-side bench, installed on demand into
 * tools/bench/lerna/ (its own package.json and committed package-lock.json;
 * not one of the root workspaces, so the root `npm install` neither installs
 * it nor changes the root package-lock.json).
 *
 *   const lerna = ensureLerna(log);   // { cli, version, installedNow, installMs }
 *
 * Installs with `npm ci` in that folder when its node_modules is missing or
 * holds another version than the lockfile pins (npm ci never rewrites the
 * lockfile). Needs the npm registry the first time only.
 */
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');

const DIR = path.join(__dirname, 'lerna');
const CLI = path.join(DIR, 'node_modules', 'lerna', 'dist', 'cli.js');

function pinnedVersion() {
  const lock = JSON.parse(fs.readFileSync(path.join(DIR, 'package-lock.json'), 'utf8'));
  return lock.packages['node_modules/lerna'].version;
}

function installedVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(DIR, 'node_modules', 'lerna', 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function npmInvocation() {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.js$/.test(cli) && fs.existsSync(cli)) return { command: process.execPath, prefix: [cli] };
  return { command: 'npm', prefix: [] };
}

function ensureLerna(log = () => {}) {
  const want = pinnedVersion();
  const have = installedVersion();
  if (have === want && fs.existsSync(CLI)) return { cli: CLI, version: have, installedNow: false, installMs: 0 };
  log(`side-by-side: installing lerna ${want} into ${path.relative(process.cwd(), DIR) || DIR} (npm ci, once) …`);
  const t = performance.now();
  const { command, prefix } = npmInvocation();
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (/^npm_/i.test(key)) delete env[key];
  try {
    execFileSync(command, [...prefix, 'ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new Error(`installing lerna in ${DIR} failed: ${String(error.stderr || error.message).slice(-2000)}`);
  }
  const got = installedVersion();
  if (got !== want) throw new Error(`lerna ${want} expected in ${DIR} after npm ci, found ${got}`);
  return { cli: CLI, version: got, installedNow: true, installMs: performance.now() - t };
}

module.exports = { ensureLerna, LERNA_DIR: DIR };
