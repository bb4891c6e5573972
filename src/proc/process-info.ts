import { fsp } from './lazy-fs.js';
import { processStartTime } from '../holder/hello.js';

/** What /proc says about a process. @internal */
export interface ProcessInfo {
  readonly pid: number;
  readonly uid: number;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly startTime: number | undefined;
}

/**
 * Reads a process's uid, command line, cwd and start time from /proc. Undefined when it is gone or hidden.
 * The cwd is empty when it cannot be read (another user's process, without privileges).
 * @internal
 */
export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const [owner, cmdline] = await Promise.all([fsp().stat(`/proc/${pid}`), fsp().readFile(`/proc/${pid}/cmdline`, 'utf8')]);
    const argv = cmdline.split('\0');
    if (argv.at(-1) === '') argv.pop();
    const cwd = await fsp().readlink(`/proc/${pid}/cwd`).catch(() => '');
    return { pid, uid: owner.uid, argv, cwd, startTime: processStartTime(pid) };
  } catch {
    return undefined;
  }
}
