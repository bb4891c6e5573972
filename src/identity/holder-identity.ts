import { fstatSync, readlinkSync } from 'node:fs';
import { hostname, release } from 'node:os';
import type { Holder } from '../holder/types.js';
import { credentialsUnavailableReason, type PeerCredentials } from './peercred.js';
import { pidfdPid, processAlive, processCmdline, processStartedAt, processStartTime, processUid, userName } from './proc.js';
import { listenerInodeOrAmbiguous, pidHoldsInode, pidsHoldingInode, socketHoldersByInode } from './socket-holders.js';

/** What a contender learned on one connection to a holder, to be checked against the kernel. @internal */
export interface HolderEvidence {
  /** The abstract address connected to. */
  readonly address: string;
  readonly backend: string;
  /** SO_PEERCRED of the connecting socket: whoever called listen(). Undefined without koffi. */
  readonly credentials: PeerCredentials | undefined;
  /** SO_PEERPIDFD of the same socket, when the kernel has it. Owned by the caller. */
  readonly pidfd: number | undefined;
  /** What the hello said, or undefined when there was none. */
  readonly claimed: Holder | undefined;
  /** Why there was no hello, when there was none. */
  readonly silentReason: string;
  /** The socket's inode when already known (a bound socket that does not listen); else looked up. */
  readonly inode?: number;
}

/** /proc facts about one process, cached for the length of one `list`. @internal */
export interface ProcessFacts {
  readonly startTime: number | undefined;
  readonly cmdline: string[] | undefined;
}

/** What one `list` learns once per process and reuses for its other locks. @internal */
export interface IdentityCache {
  readonly facts: Map<number, ProcessFacts>;
  /** pidfs inodes (unique per process, never reused) of processes already confirmed alive. */
  readonly alive: Set<number>;
  /** Every socket's holders, from one /proc walk made the first time a lock of this `list` needs a scan. */
  socketHolders?: Promise<Map<number, number[]>>;
}

/** A new, empty cache for one `list`. @internal */
export function identityCache(): IdentityCache {
  return { facts: new Map(), alive: new Set() };
}

// Since Linux 6.9 pidfds live on pidfs, whose inode numbers name one process for the life of the system.
const [major = 0, minor = 0] = release().split('.').map(Number);
const PIDFS = major > 6 || (major === 6 && minor >= 9);

/**
 * Turns a claim into a report the kernel backs. The fast case costs no /proc scan: the hello's pid is the
 * process that bound the socket (SO_PEERCRED) and it is still the same live process (SO_PEERPIDFD).
 * Otherwise (the lock fd was handed to a child, the binder died, the hello lies or is missing, or there is
 * no koffi), the live holders are the processes holding the socket's inode, found through /proc. When
 * nothing can confirm the claim, the report says `verified: false` and why.
 * Resolves undefined when the lock turned out to be free (it was released while being identified).
 * @internal
 */
export async function confirmHolder(evidence: HolderEvidence, cache?: IdentityCache): Promise<Holder | undefined> {
  const { credentials: cred, claimed } = evidence;
  const facts = (pid: number): ProcessFacts => {
    let known = cache?.facts.get(pid);
    if (known === undefined) {
      known = { startTime: processStartTime(pid), cmdline: processCmdline(pid) };
      cache?.facts.set(pid, known);
    }
    return known;
  };
  // pid 0: the binder is in a pid namespace we cannot see; nothing to confirm it with.
  if (cred !== undefined && cred.pid > 0 && claimed !== undefined && claimed.pid === cred.pid) {
    const { pidfd } = evidence;
    const processInode = pidfd !== undefined && PIDFS && cache !== undefined ? fstatSync(pidfd).ino : undefined;
    if (processInode !== undefined && cache?.alive.has(processInode) === true) {
      // The very process already confirmed for another lock of this list: same facts, no new /proc reads.
      return describe(evidence, cred.pid, cred.uid, facts(cred.pid), { verified: true });
    }
    if (processInode !== undefined) cache?.facts.delete(cred.pid);
    const known = facts(cred.pid);
    // Read first, then confirm the pidfd still names that pid: a pid reused in between would show -1.
    const alive = pidfd === undefined ? processAlive(cred.pid) : pidfdPid(pidfd) === cred.pid;
    if (alive && processInode !== undefined) cache?.alive.add(processInode);
    if (alive) return describe(evidence, cred.pid, cred.uid, known, { verified: true });
  }

  const inode = evidence.inode ?? (await listenerInodeOrAmbiguous(evidence.address));
  if (inode === undefined) return undefined;
  if (inode === 'ambiguous') {
    // We are connected, so it is held; but /proc cannot say which of the look-alike sockets is this one.
    const reason = `${cred === undefined ? credentialsUnavailableReason() : 'the process that bound it has exited'}, and another held name prints like this one in /proc/net/unix ("@" and NUL look alike), so /proc cannot tell their sockets apart`;
    const pid = claimed?.pid ?? 0;
    return describe(evidence, pid, cred?.uid ?? claimed?.uid ?? -1, pid > 0 ? facts(pid) : { startTime: undefined, cmdline: undefined }, { verified: false, reason });
  }
  const candidates = [...new Set([claimed?.pid, cred?.pid])].filter((pid): pid is number => pid !== undefined && pid > 0);
  let holders: number[] = [];
  const unreadable: number[] = [];
  for (const pid of candidates) {
    const holds = await pidHoldsInode(pid, inode);
    if (holds === true) holders.push(pid);
    else if (holds === undefined && processAlive(pid)) unreadable.push(pid);
  }
  // Only when no candidate holds it: the full scan costs a few µs per descriptor on the machine. A list makes it
  // once for all its locks (commands that inherited many locks would otherwise cost one scan each).
  if (holders.length === 0 && cache !== undefined) {
    cache.socketHolders ??= socketHoldersByInode();
    holders = (await cache.socketHolders).get(inode) ?? [];
  } else if (holders.length === 0) {
    holders = await pidsHoldingInode(inode);
  }

  if (holders.length > 0) {
    const primary = pick(holders, claimed?.pid, cred?.pid);
    const uid = processUid(primary) ?? cred?.uid ?? claimed?.uid ?? -1;
    return describe(evidence, primary, uid, facts(primary), { verified: true, holders });
  }

  // Nothing readable holds the socket: say what is known and why it is not confirmed.
  const why = cred === undefined ? credentialsUnavailableReason() : `the socket was bound by pid ${cred.pid} (uid ${cred.uid}${processAlive(cred.pid) ? '' : ', since exited'})`;
  const hidden = unreadable.length > 0 ? `/proc/${unreadable[0]}/fd is not readable by uid ${process.getuid?.() ?? -1}` : 'no process whose descriptors this user may read holds the socket';
  const reason = `${why}, and ${hidden}`;
  const pid = claimed?.pid ?? (cred !== undefined && processAlive(cred.pid) ? cred.pid : 0);
  const uid = cred?.uid ?? claimed?.uid ?? -1;
  return describe(evidence, pid, uid, pid > 0 ? facts(pid) : { startTime: undefined, cmdline: undefined }, { verified: false, reason });
}

/** Prefer the process that spoke (hello), then the one that bound the socket, then the oldest pid. */
function pick(holders: readonly number[], claimed: number | undefined, bound: number | undefined): number {
  if (claimed !== undefined && holders.includes(claimed)) return claimed;
  if (bound !== undefined && holders.includes(bound)) return bound;
  return Math.min(...holders);
}

interface Verdict {
  readonly verified: boolean;
  readonly reason?: string;
  readonly holders?: readonly number[];
}

function describe(evidence: HolderEvidence, pid: number, uid: number, known: ProcessFacts, verdict: Verdict): Holder {
  const claimed = evidence.claimed !== undefined && evidence.claimed.pid === pid ? evidence.claimed : undefined;
  const user = uid >= 0 ? userName(uid) : undefined;
  const identity = {
    pid,
    uid,
    ...(user === undefined ? {} : { user }),
    ...(known.startTime === undefined ? {} : { startTime: known.startTime }),
    ...(known.cmdline === undefined ? {} : { cmdline: known.cmdline }),
    ...(verdict.holders === undefined ? {} : { holderPids: verdict.holders }),
    verified: verdict.verified,
    ...(verdict.verified ? {} : { unverifiedReason: verdict.reason ?? 'unconfirmed' }),
  };
  if (claimed !== undefined) {
    const { unverifiedReason: _claimReason, startTime: _claimedStart, ...said } = claimed;
    return { ...said, heldForMs: Math.max(0, Date.now() - said.acquiredAt), ...identity };
  }
  // No hello from this process (a child holding an inherited fd): describe it from /proc. It has held the
  // lock at least since it started, so its start time is a lower bound of heldForMs.
  const startedAt = known.startTime === undefined ? undefined : processStartedAt(known.startTime);
  const acquiredAt = Math.round(startedAt ?? Date.now());
  const silent = evidence.claimed === undefined ? `; the holder sent no hello (${evidence.silentReason})` : `; the hello came from pid ${evidence.claimed.pid}`;
  const binder = evidence.credentials?.pid;
  const inherited = binder !== undefined && binder > 0 && binder !== pid && !processAlive(binder);
  const silentReason = inherited
    ? `a command that inherited the lock from pid ${binder}, which has exited; pid from the kernel`
    : `it did not identify itself (${evidence.claimed === undefined ? evidence.silentReason : `the hello came from pid ${evidence.claimed.pid}`}); pid from the kernel`;
  return {
    name: evidence.claimed?.name ?? '',
    scope: evidence.claimed?.scope ?? '',
    hostname: hostname(),
    argv: known.cmdline ?? [],
    cwd: cwdOf(pid),
    acquiredAt,
    heldForMs: Math.max(0, Date.now() - acquiredAt),
    protocol: 0,
    silentReason,
    backend: evidence.backend,
    ...identity,
    ...(verdict.verified ? {} : { unverifiedReason: `${verdict.reason ?? 'unconfirmed'}${silent}` }),
  };
}

function cwdOf(pid: number): string {
  if (pid <= 0) return '';
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}
