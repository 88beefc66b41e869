import { openSync, closeSync } from 'fs';
import * as tty from 'tty';

/** Asks for a one-time password; undefined when nobody can be asked. */
export type OtpPrompt = () => Promise<string | undefined>;

/**
 * The terminal the run was started from, when it has one (its controlling
 * terminal, `/dev/tty`): Nx pipes a task's stdin and stdout, so they tell
 * nothing. In CI there is none, and an EOTP answer fails with its hint.
 */
export function openControllingTerminal(): number | undefined {
  try {
    const fd = openSync('/dev/tty', 'r+');
    if (tty.isatty(fd)) return fd;
    closeSync(fd);
  } catch {
    // no controlling terminal (CI, a daemon, Windows)
  }
  return undefined;
}

/**
 * Reads one line from the terminal `fd` without echoing it (raw mode; the
 * code is never shown, G5). Backspace deletes, Ctrl-C and Ctrl-D give up
 * (undefined).
 */
export function readHiddenLine(fd: number, question: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = new tty.ReadStream(fd);
    const output = new tty.WriteStream(fd);
    let typed = '';
    const finish = (value: string | undefined) => {
      input.setRawMode(false);
      input.removeListener('data', onData);
      input.pause();
      output.write('\n');
      input.destroy();
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(typed.trim());
        if (ch === '\u0003' || ch === '\u0004') return finish(undefined);
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
      return undefined;
    };
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
    output.write(question);
  });
}

/**
 * One prompt for the whole run: the first EOTP asks (in a terminal), every
 * later one (any registry client of the run) gets the same code. Without a
 * terminal it answers undefined and the EOTP stands.
 */
export function createRunOtpPrompt(options: { question: string; open?: () => number | undefined; read?: (fd: number, question: string) => Promise<string | undefined>; onCode?: (code: string) => void }): OtpPrompt {
  let answer: Promise<string | undefined> | undefined;
  const open = options.open ?? openControllingTerminal;
  const read = options.read ?? readHiddenLine;
  return () =>
    (answer ??= (async () => {
      const fd = open();
      if (fd === undefined) return undefined;
      const code = (await read(fd, options.question)) || undefined;
      if (code) options.onCode?.(code);
      return code;
    })());
}
