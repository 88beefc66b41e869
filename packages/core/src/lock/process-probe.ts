import { readFileSync } from 'fs';
import * as os from 'os';
import { errnoCode } from '../errors';

/** How a lock judges whether its holder still runs; injectable so tests can lie. */
export interface ProcessProbe {
  hostname(): string;
  /** true if a process with this pid exists (EPERM counts as existing). */
  isAlive(pid: number): boolean;
  /** An opaque start time, to tell a reused pid from the original process; undefined where unknown. */
  startTime(pid: number): string | undefined;
}

export const systemProcessProbe: ProcessProbe = {
  hostname: () => os.hostname(),
  isAlive(pid) {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return errnoCode(error) === 'EPERM';
    }
  },
  startTime(pid) {
    try {
      // Field 22 of /proc/<pid>/stat is the start time in clock ticks since boot;
      // fields are counted after the command name, which may contain spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[19];
    } catch {
      return undefined;
    }
  },
};
