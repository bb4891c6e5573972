import { status, statusSlots } from '../index.js';
import type { Parsed } from './args.js';
import { ExitCode, type Outcome } from './exit-codes.js';
import { holderJson, printable, statusText } from './format.js';
import { lockOptions } from './lock-options.js';

type StatusArgs = Extract<Parsed, { command: 'status' }>;

/**
 * `onlyone status NAME [--json] [--slots N]`: says who holds NAME. Exit 0 when held, 1 when free.
 * With `--slots N`, every slot `NAME#k`: exit 0 when all are held, 1 when one is free.
 * @throws the library's errors (invalid name or option, unsupported platform).
 * @internal
 */
export async function showStatus(args: StatusArgs): Promise<Outcome> {
  if (args.slots !== undefined) return showSlots(args, args.slots);
  const holder = await status(args.name, lockOptions(args.lock));
  if (args.json) process.stdout.write(`${JSON.stringify(holderJson(args.name, args.lock.scope, holder))}\n`);
  else process.stdout.write(holder === undefined ? `${printable(args.name)} is free\n` : statusText(args.name, holder));
  return { code: holder === undefined ? ExitCode.free : ExitCode.ok };
}

async function showSlots(args: StatusArgs, slots: number): Promise<Outcome> {
  const holders = await statusSlots(args.name, slots, lockOptions(args.lock));
  const names = holders.map((_, slot) => `${args.name}#${slot}`);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(holders.map((holder, slot) => holderJson(names[slot] ?? '', args.lock.scope, holder)))}\n`);
  } else {
    const held = holders.filter((holder) => holder !== undefined).length;
    const lines = holders.map((holder, slot) => (holder === undefined ? `${printable(names[slot] ?? '')} is free\n` : statusText(names[slot] ?? '', holder)));
    process.stdout.write(`${printable(args.name)}: ${held} of ${slots} slots held\n${lines.join('')}`);
  }
  return { code: holders.every((holder) => holder !== undefined) ? ExitCode.ok : ExitCode.free };
}
