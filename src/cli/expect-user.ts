import { readFileSync } from 'node:fs';
import { UsageError, type CommandName } from './args.js';

/**
 * The uid `--expect-user USER` names: a decimal uid, or a user name from /etc/passwd.
 * @throws UsageError for an unknown user.
 * @internal
 */
export function expectedUidOf(user: string, topic: CommandName): number {
  if (/^\d{1,10}$/u.test(user) && Number(user) <= 0xfffffffe) return Number(user);
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No /etc/passwd: only numeric uids can be named.
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name === user && uid !== undefined && /^\d+$/u.test(uid)) return Number(uid);
  }
  throw new UsageError(`--expect-user: no user '${user}' (give a user name or a numeric uid)`, topic);
}
