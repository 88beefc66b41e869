/**
 * Synchronous clean-ups (leave a queue, release a lock) run when the process
 * gets SIGINT, SIGTERM or SIGHUP. If nobody else listens for that signal, it
 * is raised again afterwards so the process still dies of it; if the program
 * has its own handlers, they decide what happens next.
 */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const cleanups = new Set<(signal: NodeJS.Signals) => void>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup(signal);
    } catch {
      // best effort: the next run reclaims what is left via the pid probe
    }
  }
  cleanups.clear();
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

/** Registers `cleanup`; the returned function unregisters it. */
export function onTerminationSignal(cleanup: (signal: NodeJS.Signals) => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) uninstall();
  };
}
