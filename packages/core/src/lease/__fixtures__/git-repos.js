// Test helper for the git lease specs: a bare "shared remote" and clones of it
// standing for CI machines. Plain JS so that both the specs and the forked
// fixtures can use it.
const { execFileSync } = require('child_process');
const { createHash } = require('crypto');
const fs = require('fs');
const path = require('path');

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_TERMINAL_PROMPT: '0',
  LC_ALL: 'C',
};

function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** `<dir>/remote.git` (bare) with one commit on main, and `count` clones `<dir>/clone-<i>`. */
function makeRemoteAndClones(dir, count) {
  const remote = path.join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', '--initial-branch=main', remote);
  const seed = path.join(dir, 'seed');
  git(dir, 'clone', '-q', remote, seed);
  fs.writeFileSync(path.join(seed, 'README.md'), '# shared\n');
  git(seed, 'add', 'README.md');
  git(seed, 'commit', '-q', '-m', 'initial');
  git(seed, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  const clones = [];
  for (let i = 0; i < count; i++) {
    const clone = path.join(dir, `clone-${i}`);
    git(dir, 'clone', '-q', remote, clone);
    clones.push(clone);
  }
  return { remote, clones };
}

function leaseRef(resourceId) {
  return `refs/lockstep/locks/${createHash('sha256').update(resourceId).digest('hex')}`;
}

/** Lease refs on the remote: ref → oid. */
function remoteLeases(remote) {
  const out = git(remote, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/lockstep/locks/');
  return new Map(out ? out.split('\n').map((l) => l.split(' ')) : []);
}

/** Writes a lease record straight onto the remote (a holder that is not one of our processes). */
function plantLease(remote, record) {
  const oid = git(remote, 'commit-tree', '4b825dc642cb6eb9a060e54bf8d69288fbee4904', '-m', JSON.stringify(record));
  git(remote, 'update-ref', leaseRef(record.resource), oid);
  return oid;
}

function leaseRecord(resource, owner, ttlMs, extra = {}) {
  const at = new Date().toISOString();
  return {
    schema_version: 1,
    resource,
    owner,
    nonce: createHash('sha256').update(`${owner}${Math.random()}`).digest('hex').slice(0, 32),
    ttlMs,
    acquiredAt: at,
    renewedAt: at,
    hostname: 'elsewhere',
    pid: 1,
    sequence: 0,
    ...extra,
  };
}

module.exports = { git, makeRemoteAndClones, leaseRef, remoteLeases, plantLease, leaseRecord };
