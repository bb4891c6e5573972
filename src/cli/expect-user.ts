import { UsageError, type CommandName } from './parsed.js';
import { userId } from './passwd.js';

/**
 * The uid `--expect-user USER` names: a decimal uid, or a user name from /etc/passwd.
 * @throws UsageError for an unknown user.
 * @internal
 */
export function expectedUidOf(user: string, topic: CommandName): number {
  if (/^\d{1,10}$/u.test(user) && Number(user) <= 0xfffffffe) return Number(user);
  const uid = userId(user);
  if (uid === undefined) throw new UsageError(`--expect-user: no user '${user}' (give a user name or a numeric uid)`, topic);
  return uid;
}
