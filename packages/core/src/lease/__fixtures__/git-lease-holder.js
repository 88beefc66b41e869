// Acquires a git lease in a clone and keeps renewing it until killed:
//   node git-lease-holder.js <clone> <resource> <owner> <ttlMs> <renewMs>
// Prints "start <wall ms>" before every write (acquire or renew), "acquired"
// once it holds the lease and "renewed <n>" after each renew.
const { GitLeaseBackend, parseResource } = require('../../../dist');
const { sleep } = require('../../../dist/util/sleep');

const [clone, raw, owner, ttl, renewEvery] = process.argv.slice(2);
// minTtlMs: the race spec uses a sub-second TTL to see expiry quickly.
const backend = new GitLeaseBackend({ cwd: clone, minTtlMs: 1 });
const resource = parseResource(raw);

(async () => {
  process.stdout.write(`start ${Date.now()}\n`);
  await backend.acquire(resource, { owner, ttlMs: Number(ttl) });
  process.stdout.write('acquired\n');
  for (let n = 1; ; n++) {
    await sleep(Number(renewEvery));
    process.stdout.write(`start ${Date.now()}\n`);
    await backend.renew(resource, { owner });
    process.stdout.write(`renewed ${n}\n`);
  }
})().catch((e) => {
  process.stdout.write(`failed ${e.code} ${e.message}\n`);
  process.exit(1);
});
