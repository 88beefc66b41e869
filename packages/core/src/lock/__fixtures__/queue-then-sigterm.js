// Waits in the queue of a held lock while the program has its own SIGTERM
// handler (as the publish executor does); prints what happens on SIGTERM.
const { acquireLock } = require('../../../dist');
const [key, lockDir] = process.argv.slice(2);

process.on('SIGTERM', () => console.log('app handler ran'));
acquireLock(key, { lockDir, onWait: () => console.log('queued'), waitReportMs: 60_000 }).then(
  () => console.log('acquired (wrong)'),
  (e) => console.log(`aborted ${e.code}`),
);
