'use strict';
/**
 * PROTOTYPE for the bench report only (used by commit-phases.js): the changes
 * proposed for packages/core/src/atomic/commit-tree.ts, written in plain JS so
 * their effect can be measured without touching packages/. Not a library; not
 * used by `npm run bench`.
 *
 * Differences from commitTree as shipped:
 *   1. One readdir walk of outDir up front (withFileTypes, symlinks not
 *      followed) replaces: the sweep walk, the prune walk, one lstat per file,
 *      one mkdir per file and one realpath per file. Parents that the walk saw
 *      as real directories need no realpath (no symlink on the way) and no
 *      mkdir; anything else falls back to the shipped checks, once per
 *      directory (memoised), not once per file.
 *   2. Files the walk did not see are written without any read.
 *   3. The byte compare is open(O_RDONLY|O_NOFOLLOW|O_NONBLOCK) + one read of
 *      size+1 bytes into a buffer + close (3 calls, no lstat, no fstat, no
 *      readFile growth loop); optionally synchronous on the main thread
 *      (no threadpool round trip per call). compare: 'shipped' keeps the
 *      shipped lstat + readFile, to measure 1 without 3.
 *   4. Stale files and empty dirs are pruned from the up-front listing.
 */
const fs = require('fs');
const path = require('path');

const fsp = fs.promises;
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** true iff `target` is a regular file holding exactly `data`. */
async function sameBytesOpenRead(target, data) {
  let fh;
  try {
    fh = await fsp.open(target, READ_FLAGS);
  } catch (error) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(error.code)) return false;
    throw error;
  }
  try {
    const buf = Buffer.allocUnsafe(data.length + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === data.length && buf.subarray(0, bytesRead).equals(data);
  } catch (error) {
    if (error.code === 'EISDIR' || error.code === 'EAGAIN') return false;
    throw error;
  } finally {
    await fh.close();
  }
}

function sameBytesSync(target, data) {
  let fd;
  try {
    fd = fs.openSync(target, READ_FLAGS);
  } catch (error) {
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(error.code)) return false;
    throw error;
  }
  try {
    const buf = Buffer.allocUnsafe(data.length + 1);
    const bytesRead = fs.readSync(fd, buf, 0, buf.length, 0);
    return bytesRead === data.length && buf.subarray(0, bytesRead).equals(data);
  } catch (error) {
    if (error.code === 'EISDIR' || error.code === 'EAGAIN') return false;
    throw error;
  } finally {
    fs.closeSync(fd);
  }
}

/** rel path → 'file' | 'dir' | 'symlink' | 'other', symlinks not followed. */
async function walk(root, rel = '', out = new Map()) {
  let entries;
  try {
    entries = await fsp.readdir(rel ? path.join(root, rel) : root, { withFileTypes: true });
  } catch (error) {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return out;
    throw error;
  }
  const subdirs = [];
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const type = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : e.isSymbolicLink() ? 'symlink' : 'other';
    out.set(r, type);
    if (type === 'dir') subdirs.push(r);
  }
  await Promise.all(subdirs.map((d) => walk(root, d, out)));
  return out;
}

async function pruneWalk(root, keep) {
  const listing = await walk(root);
  let removed = 0;
  for (const [rel, type] of listing) {
    if (type !== 'dir' && !keep.has(rel)) {
      await fsp.rm(path.join(root, rel), { force: true });
      removed++;
    }
  }
  return removed;
}

/** The shipped compare (lstat, then readFile of a same-size file), kept for ablation. */
async function sameBytesShipped(target, data) {
  const st = await fsp.lstat(target);
  return st.isFile() && st.size === data.length && Buffer.compare(await fsp.readFile(target), data) === 0;
}

const COMPARES = { shipped: sameBytesShipped, async: sameBytesOpenRead, sync: async (t, d) => sameBytesSync(t, d) };

/** compare: 'shipped' (lstat + readFile), 'async' (open + read + close), 'sync' (the same, synchronous). */
async function commitTreeProposed(core, outDir, files, { concurrency = 32, prune = true, compare = 'async' } = {}) {
  const same = COMPARES[compare];
  const planned = new Map();
  for (const f of files) planned.set(core.normalizeEmittedPath(f.path), f.source);
  await fsp.mkdir(outDir, { recursive: true });
  const root = await fsp.realpath(outDir);
  const listing = await walk(root);
  const stats = { written: 0, unchanged: 0, pruned: 0, dirsRemoved: 0, sweptTemps: 0 };

  for (const [rel, type] of listing) {
    if (type !== 'dir' && core.isTempFileName(path.posix.basename(rel))) {
      await fsp.rm(path.join(root, rel), { force: true });
      listing.delete(rel);
      stats.sweptTemps++;
    }
  }

  const dirReady = new Map();
  const ensureDir = (relDir) => {
    if (!relDir) return undefined;
    let p = dirReady.get(relDir);
    if (!p) {
      const segments = relDir.split('/');
      const allReal = segments.every((_, i) => listing.get(segments.slice(0, i + 1).join('/')) === 'dir');
      p = allReal
        ? Promise.resolve()
        : (async () => {
            const abs = path.join(root, ...segments);
            await core.assertNoSymlinkEscape(root, path.join(abs, 'x'));
            await fsp.mkdir(abs, { recursive: true }); // the shipped ENOTDIR repair would go here
          })();
      dirReady.set(relDir, p);
    }
    return p;
  };

  await core.mapLimit([...planned], concurrency, async ([rel, source]) => {
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    await ensureDir(parent);
    const target = path.join(root, ...rel.split('/'));
    const data = typeof source.data === 'string' ? Buffer.from(source.data) : source.data;
    const seen = listing.get(rel);
    if (seen === 'dir') await fsp.rm(target, { recursive: true, force: true });
    else if (seen === 'file' && (await same(target, data))) {
      stats.unchanged++;
      return;
    }
    await core.writeFileAtomicFast(target, data);
    stats.written++;
  });

  if (prune) {
    const keepDirs = new Set();
    for (const rel of planned.keys()) {
      const s = rel.split('/');
      for (let i = 1; i < s.length; i++) keepDirs.add(s.slice(0, i).join('/'));
    }
    const dirs = [];
    for (const [rel, type] of listing) {
      if (type === 'dir') dirs.push(rel);
      else if (!planned.has(rel)) {
        await fsp.rm(path.join(root, rel), { force: true });
        stats.pruned++;
      }
    }
    dirs.sort((a, b) => b.length - a.length);
    for (const d of dirs) {
      if (keepDirs.has(d)) continue;
      try {
        await fsp.rmdir(path.join(root, d));
        stats.dirsRemoved++;
      } catch (error) {
        if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(error.code)) throw error;
      }
    }
  }
  return stats;
}

module.exports = { sameBytesShipped, sameBytesOpenRead, sameBytesSync, walk, pruneWalk, commitTreeProposed };
