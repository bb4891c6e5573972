import { lastRun, LockSquattedError, status, statusSlots, type Holder, type RunRecord } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { printable, statusText } from './format.js';
import { holderJson, requiredUidOf } from './holder-json.js';
import { lockOptions } from './lock-options.js';

type StatusArgs = Extract<Parsed, { command: 'status' }>;

/**
 * `onlyone status NAME [--json] [--slots N]`: says who holds NAME. Exit 0 when held, 1 when free, 77 when the
 * holder is a squatter (`--json` still prints it, with `squatted: true`).
 * With `--slots N`, every slot `NAME#k`: exit 0 when all are held, 1 when one is free.
 * @throws the library's errors (invalid name or option, unsupported platform, OsError).
 * @internal
 */
export async function showStatus(args: StatusArgs): Promise<Outcome> {
  if (args.slots !== undefined) return showSlots(args, args.slots);
  const options = lockOptions(args.lock);
  let holder: Holder | undefined;
  let run: RunRecord | undefined | null;
  try {
    [holder, run] = await Promise.all([status(args.name, options), lastRunOf(args.name, options)]);
  } catch (error) {
    // A squatter is an answer too: --json says who it is; text leaves the message to main.
    if (!(error instanceof LockSquattedError) || !args.json) throw error;
    process.stdout.write(`${JSON.stringify(holderJson(args.name, args.lock.scope, error.holder, requiredUidOf(args.lock)))}\n`);
    return { code: ExitCode.squatted };
  }
  if (args.json) {
    const json: Record<string, unknown> = { ...holderJson(args.name, args.lock.scope, holder, requiredUidOf(args.lock)) };
    if (run !== null) json['lastRun'] = run === undefined ? null : (await import('./once-per.js')).lastRunJson(run);
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } else {
    process.stdout.write(holder === undefined ? `${printable(args.name)} is free\n` : statusText(args.name, holder));
    if (run !== null && run !== undefined) process.stdout.write((await import('./once-per.js')).lastRunText(run, holder === undefined));
  }
  return { code: holder === undefined ? ExitCode.free : ExitCode.ok };
}

/** The last --once-per run; null on a backend that keeps no run records (abstract). */
async function lastRunOf(name: string, options: ReturnType<typeof lockOptions>): Promise<RunRecord | undefined | null> {
  try {
    return await lastRun(name, options);
  } catch (error) {
    // status() validates the same options and fails on its own if they are bad: what is left is the backend's
    // refusal to look for run records it never keeps.
    if ((error as { code?: unknown }).code === 'ERR_INVALID_OPTION') return null;
    throw error;
  }
}

async function showSlots(args: StatusArgs, slots: number): Promise<Outcome> {
  const holders = await statusSlots(args.name, slots, lockOptions(args.lock));
  const names = holders.map((_, slot) => `${args.name}#${slot}`);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(holders.map((holder, slot) => holderJson(names[slot] ?? '', args.lock.scope, holder, requiredUidOf(args.lock))))}\n`);
  } else {
    const held = holders.filter((holder) => holder !== undefined).length;
    const lines = holders.map((holder, slot) => (holder === undefined ? `${printable(names[slot] ?? '')} is free\n` : statusText(names[slot] ?? '', holder)));
    process.stdout.write(`${printable(args.name)}: ${held} of ${slots} slots held\n${lines.join('')}`);
  }
  return { code: holders.every((holder) => holder !== undefined) ? ExitCode.ok : ExitCode.free };
}
