import { ChildProcess, fork } from 'child_process';
import { assertFreshDist } from './fresh-dist';
import { UntypedWorker, WorkerProtocol, isReadyMessage } from './worker-protocol';

/**
 * A forked worker that answers IPC requests one at a time. Workers are
 * `__fixtures__/*.js` scripts that load packages/core/dist: a stale build
 * fails the spec (assertFreshDist) instead of testing the old code. `P` is
 * the worker's protocol (worker-protocol.ts): the requests it takes, its replies.
 */
export class Worker<P extends WorkerProtocol = UntypedWorker> {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private pending?: (msg: P['reply']) => void;

  constructor(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) {
    assertFreshDist();
    this.child = fork(script, args, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.on('message', (msg: unknown) => {
        if (isReadyMessage(msg)) return resolve();
        const pending = this.pending;
        this.pending = undefined;
        pending?.(msg as P['reply']);
      });
    });
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async request(msg: P['request']): Promise<P['reply']> {
    await this.ready;
    return new Promise<P['reply']>((resolve) => {
      this.pending = resolve;
      this.child.send(msg);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}
