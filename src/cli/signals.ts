/**
 * `TERM`, `SIGTERM`, `term` or `15` → `SIGTERM`; undefined for anything else. Only the usual Linux signals a
 * wrapper may pass on (numbers as on x86-64 and arm64). The tables are built on call: argument parsing is on
 * every run's start-up path, and a plain run never needs them.
 * @internal
 */
export function signalName(value: string): NodeJS.Signals | undefined {
  const numbers: Readonly<Record<number, string>> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 14: 'SIGALRM', 15: 'SIGTERM', 18: 'SIGCONT', 19: 'SIGSTOP', 28: 'SIGWINCH' };
  const others = ['SIGPWR', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGIO'];
  const upper = value.toUpperCase();
  const name = /^\d+$/u.test(value) ? numbers[Number(value)] : upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name !== undefined && (Object.values(numbers).includes(name) || others.includes(name)) ? (name as NodeJS.Signals) : undefined;
}
