import type { Options } from './arg-values.js';
import { RUN_LONG_ALIASES, RUN_SHORT } from './flock-compat.js';

/** After `-w`: a duration (`5s`, `2h30m`), or a malformed one (`5sec`) that must be refused, not taken as NAME. */
const WAIT_VALUE = /^(?:\d|\.\d)[\w.]*$/u;

/**
 * Splits `run`'s arguments into onlyone's own (options and NAME, every option spelled long) and the
 * COMMAND, which starts after `--` or at the first argument after NAME, so the command's own options are
 * never parsed as ours. One-letter groups (`-nE 0`, `-qw5s`) are expanded here, flock's spellings become
 * onlyone's, and `-w`/`--wait` takes an optional duration, which parseArgs cannot express: it becomes
 * `--timeout`. A number (with or without a unit) that follows `-w` is always the wait, never the NAME.
 * @internal
 */
export function splitRunTokens(args: readonly string[], options: Options): { optionTokens: string[]; command: string[] } {
  const takesValue = new Set(Object.entries(options).filter(([, option]) => option.type === 'string').map(([long]) => `--${long}`));
  const optionTokens: string[] = [];
  let sawName = false;
  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? '';
    const next = args[i + 1];
    if (token === '--') return { optionTokens, command: args.slice(i + 1) };
    if (!token.startsWith('-') || token === '-') {
      if (sawName) return { optionTokens, command: args.slice(i) };
      sawName = true;
      optionTokens.push(token);
      continue;
    }
    if (!token.startsWith('--')) {
      i += expandShortGroup(token.slice(1), next, optionTokens);
      continue;
    }
    const [spelled = token, inline] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token];
    const long = RUN_LONG_ALIASES[spelled] ?? spelled;
    if (long === '--wait') {
      if (inline !== undefined) optionTokens.push('--wait', `--timeout=${inline}`);
      else if (next !== undefined && WAIT_VALUE.test(next)) {
        optionTokens.push('--wait', `--timeout=${next}`);
        i++;
      } else optionTokens.push('--wait');
      continue;
    }
    if (inline !== undefined) optionTokens.push(`${long}=${inline}`);
    else {
      optionTokens.push(long);
      if (takesValue.has(long) && next !== undefined) {
        optionTokens.push(next);
        i++;
      }
    }
  }
  return { optionTokens, command: [] };
}

/** Expands `-abc` into long options; returns how many of the following tokens it consumed as a value. */
function expandShortGroup(group: string, next: string | undefined, out: string[]): number {
  for (let at = 0; at < group.length; at++) {
    const letter = group[at] ?? '';
    const short = RUN_SHORT[letter];
    // parseArgs reports an unknown letter in its own words.
    if (short === undefined) {
      out.push(`-${letter}`);
      continue;
    }
    const rest = group.slice(at + 1);
    if (short.value === 'none') {
      out.push(`--${short.long}`);
      continue;
    }
    if (short.value === 'optional') {
      // -w5s: the rest is the wait; -wq: -w alone, then -q; -w 5s: the next token is the wait.
      if (rest !== '' && WAIT_VALUE.test(rest)) {
        out.push('--wait', `--timeout=${rest}`);
        return 0;
      }
      if (rest === '' && next !== undefined && WAIT_VALUE.test(next)) {
        out.push('--wait', `--timeout=${next}`);
        return 1;
      }
      out.push('--wait');
      continue;
    }
    if (rest !== '') {
      out.push(`--${short.long}=${rest}`);
      return 0;
    }
    out.push(`--${short.long}`);
    if (next === undefined) return 0;
    out.push(next);
    return 1;
  }
  return 0;
}
