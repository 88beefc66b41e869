'use strict';
/**
 * CPU and memory of a tool's whole process tree, and of a registry process,
 * for the side-by-side and scale publish benches.
 *
 *   const r = await runMeasured(process.execPath, [nxBin, 'run-many', …], { cwd, env, logFile, sampleTree: true });
 *   // { code, wallMs, cpuMs, userMs, sysMs, maxRssKiB, treePeakRssKiB, leftovers, output }
 *   const before = procCpuMs(registry.pid); …; procCpuMs(registry.pid) - before
 *
 * The command runs under a small python3 wrapper (python3 is on every
 * machine of this project's kind) that makes itself a child subreaper
 * (prctl PR_SET_CHILD_SUBREAPER), so a grandchild orphaned by its parent is
 * reparented to the wrapper and still waited for; after the command exits it
 * reaps such orphans for up to 5 s and then reports getrusage(RUSAGE_CHILDREN):
 * user + sys of every process of the tree, and ru_maxrss, the peak RSS of
 * the largest single process. `leftovers` counts processes of the tree
 * still alive after that (they are not counted, and not killed).
 *
 * With `sampleTree`, this process also polls /proc every `sampleMs` (200) for
 * the wrapper's descendants and sums their RSS: the whole tree's peak RSS
 * (a sampled value: a peak shorter than the interval can be missed).
 */
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');

const WRAPPER = String.raw`
import ctypes, json, os, resource, subprocess, sys, time
out = sys.argv[1]
def parent_of(p):
    try:
        with open('/proc/%s/stat' % p) as f:
            return f.read().rsplit(')', 1)[1].split()[1]
    except Exception:
        return None
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    subreaper = True
except Exception:
    subreaper = False
t = time.monotonic()
try:
    rc = subprocess.call(sys.argv[2:])
except OSError as e:
    sys.stderr.write('tree-usage: cannot run %s: %s\n' % (sys.argv[2], e))
    rc = 127
wall = time.monotonic() - t
leftovers = 0
deadline = time.monotonic() + 5
while True:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == 0:
        if time.monotonic() > deadline:
            leftovers = sum(1 for p in os.listdir('/proc') if p.isdigit() and parent_of(p) == str(os.getpid()))
            break
        time.sleep(0.02)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, 'w') as f:
    json.dump({'rc': rc, 'wallMs': wall * 1000, 'userMs': r.ru_utime * 1000, 'sysMs': r.ru_stime * 1000, 'maxRssKiB': r.ru_maxrss, 'leftovers': leftovers, 'subreaper': subreaper}, f)
sys.exit(rc if rc >= 0 else 128 - rc)
`;

let clockTicks;
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields after the command name of /proc/<pid>/stat (index 0 = state), or undefined when gone. */
function statFields(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** user + sys CPU of one live process (not its children), ms; NaN when it is gone. */
function procCpuMs(pid) {
  const f = statFields(pid);
  if (!f) return NaN;
  // utime, stime are fields 14 and 15 of stat: 11 and 12 after the state (index 0 = field 3).
  return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond();
}

const PAGE_KIB = 4;

/** Sum of the RSS of `root`'s descendants (not root itself), KiB, and the process count. */
function treeRssKiB(root) {
  const children = new Map();
  const rss = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (!f) continue;
    const pid = Number(entry);
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
    rss.set(pid, Number(f[21]) * PAGE_KIB); // field 24: rss in pages
  }
  let total = 0;
  let count = 0;
  const stack = [...(children.get(root) || [])];
  while (stack.length) {
    const pid = stack.pop();
    total += rss.get(pid) || 0;
    count += 1;
    stack.push(...(children.get(pid) || []));
  }
  return { kib: total, count };
}

let python;
function pythonCommand() {
  if (python) return python;
  for (const candidate of ['python3', 'python']) {
    try {
      execFileSync(candidate, ['-c', 'import resource, ctypes'], { stdio: 'ignore' });
      python = candidate;
      return python;
    } catch {
      // try the next
    }
  }
  throw new Error('tree-usage: python3 is needed to measure the CPU of a process tree (RUSAGE_CHILDREN); it is on every machine of this project\'s kind');
}

/**
 * Runs `command args` under the wrapper; resolves { code, signal, output,
 * start, end, ms (wall seen from here), wallMs (inside the wrapper), userMs,
 * sysMs, cpuMs, maxRssKiB, leftovers, treePeakRssKiB?, treePeakProcesses? }.
 */
function runMeasured(command, args, { cwd, env, logFile, sampleTree = false, sampleMs = 200 }) {
  const out = path.join(os.tmpdir(), `lockstep-tree-usage-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    const start = performance.timeOrigin + performance.now();
    const child = spawn(pythonCommand(), ['-c', WRAPPER, out, command, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    let peak = { kib: 0, count: 0 };
    let timer;
    if (sampleTree) {
      const sample = () => {
        try {
          const s = treeRssKiB(child.pid);
          if (s.kib > peak.kib) peak = s;
        } catch {
          // /proc raced with an exiting process: skip this sample
        }
      };
      timer = setInterval(sample, sampleMs);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearInterval(timer);
      const end = performance.timeOrigin + performance.now();
      const output = Buffer.concat(chunks).toString('utf8');
      if (logFile) fs.writeFileSync(logFile, output);
      let usage = {};
      try {
        usage = JSON.parse(fs.readFileSync(out, 'utf8'));
        fs.rmSync(out, { force: true });
      } catch (error) {
        return reject(new Error(`tree-usage: the wrapper wrote no usage (exit ${code ?? signal}): ${error.message}\n${output.slice(-2000)}`));
      }
      resolve({
        code,
        signal,
        output,
        start,
        end,
        ms: end - start,
        wallMs: usage.wallMs,
        userMs: usage.userMs,
        sysMs: usage.sysMs,
        cpuMs: usage.userMs + usage.sysMs,
        maxRssKiB: usage.maxRssKiB,
        leftovers: usage.leftovers,
        ...(sampleTree ? { treePeakRssKiB: peak.kib, treePeakProcesses: peak.count } : {}),
      });
    });
  });
}

module.exports = { runMeasured, procCpuMs, treeRssKiB, ticksPerSecond };
