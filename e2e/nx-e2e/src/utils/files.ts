import * as fs from 'fs';
import * as path from 'path';

/** Every regular file under `dir`, recursively (absolute paths); directories that vanish while we look are skipped, a missing `dir` gives []. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      return; // gone (or never there)
    }
    for (const entry of entries) {
      const file = path.join(abs, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) out.push(file);
    }
  };
  walk(dir);
  return out;
}
