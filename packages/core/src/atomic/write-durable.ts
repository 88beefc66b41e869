import writeFileAtomic from 'write-file-atomic';

/**
 * Atomic and durable: write-file-atomic writes a temp sibling, fsyncs it and
 * renames it into place, so after a crash or power loss the file holds either
 * the old or the new content. For state (the publish journal), not for output.
 */
export async function writeFileDurable(target: string, data: string | Uint8Array): Promise<void> {
  await writeFileAtomic(target, typeof data === 'string' ? data : Buffer.from(data), { fsync: true });
}

/** write-file-atomic 7 names its temp files `<file>.<decimal uint32>`; a SIGKILL leaks them. */
export function isDurableTempFor(fileName: string, candidate: string): boolean {
  if (!candidate.startsWith(`${fileName}.`)) return false;
  return /^\d{1,10}$/.test(candidate.slice(fileName.length + 1));
}
