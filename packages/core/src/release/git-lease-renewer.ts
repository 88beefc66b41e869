/**
 * The detached renewer of a per-task run's git lease (see git-release-lock.ts):
 * `node git-lease-renewer.js <RenewerConfig as JSON>`. Exits when the run's
 * nx process is gone or the lease is no longer the run's.
 */
import { ErrorCodes, isLockstepError } from '../errors';
import { systemProcessProbe } from '../lock/process-probe';
import { sleep } from '../util/sleep';
import { RenewerConfig, gitBackendFor } from './git-release-lock';

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as RenewerConfig;
  const backend = gitBackendFor(config);
  const start = systemProcessProbe.startTime(config.runPid);
  const runAlive = () => systemProcessProbe.isAlive(config.runPid) && systemProcessProbe.startTime(config.runPid) === start;
  const interval = Math.max(1000, Math.floor(config.ttlMs / 3));
  // Look at the run every second, so the renewer ends soon after it.
  const waitWhileRunLives = async (ms: number) => {
    for (let waited = 0; waited < ms && runAlive(); waited += 1000) await sleep(Math.min(1000, ms - waited));
  };
  while (runAlive()) {
    await waitWhileRunLives(interval);
    if (!runAlive()) return;
    try {
      await backend.renew(config.resource, { owner: config.owner, ttlMs: config.ttlMs });
    } catch (error) {
      if (isLockstepError(error, ErrorCodes.ELEASENOTHELD) || isLockstepError(error, ErrorCodes.ELEASENOTOWNER)) return;
      // passing failure (network): the task processes judge their own deadline; try again soon
      await waitWhileRunLives(Math.min(2000, interval));
    }
  }
}

main().then(
  () => process.exit(0),
  () => process.exit(1),
);
