import { readFileSync } from 'node:fs';

/** /etc/passwd both ways, read once (no NSS, no dependency). */
interface Passwd {
  readonly byUid: Map<number, string>;
  readonly byName: Map<string, number>;
}

let passwd: Passwd | undefined;

function load(): Passwd {
  if (passwd !== undefined) return passwd;
  const byUid = new Map<number, string>();
  const byName = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // No /etc/passwd (a minimal container): names stay unknown, only numeric uids work.
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name === undefined || name === '' || id === undefined || !/^\d+$/u.test(id)) continue;
    const uid = Number(id);
    if (!byUid.has(uid)) byUid.set(uid, name);
    if (!byName.has(name)) byName.set(name, uid);
  }
  passwd = { byUid, byName };
  return passwd;
}

/** The user name of `uid`, or undefined. @internal */
export function userName(uid: number): string | undefined {
  return load().byUid.get(uid);
}

/** The uid of the user called `name`, or undefined. @internal */
export function userId(name: string): number | undefined {
  return load().byName.get(name);
}
