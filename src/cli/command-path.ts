import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Where execvp(3) would look for `file`: the file itself when it names a path, else each directory of PATH (an empty
 * entry is the current directory; no PATH, the usual default).
 * @internal
 */
export function commandCandidates(file: string): string[] {
  if (file.includes('/')) return [file];
  return (process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((dir) => join(dir === '' ? '.' : dir, file));
}

/**
 * Whether a file named `file` exists where execvp would look, executable or not. execvp says EACCES when a PATH
 * directory cannot be searched even though the command is nowhere (as under `su` with root's PATH); a shell says
 * "command not found" (127) then, and "permission denied" (126) only for a file it found.
 * @internal
 */
export function existsOnPath(file: string): boolean {
  return commandCandidates(file).some((candidate) => {
    try {
      return statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
}
