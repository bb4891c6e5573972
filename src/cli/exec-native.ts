/** The libc calls `run --exec` makes through koffi (loaded only on that path). @internal */
export interface ExecLibc {
  /** `fcntl(fd, cmd, arg)` with an int argument. */
  readonly fcntl: (fd: number, command: number, argument: number) => number;
  /** `execve(2)`; returns only on failure. `argv` and `envp` end with null. */
  readonly execve: (path: string, argv: ReadonlyArray<string | null>, envp: ReadonlyArray<string | null>) => number;
  /** `signal(sig, SIG_IGN)`: the disposition an ignored signal keeps across execve(2). */
  readonly ignore: (signal: number) => void;
  readonly errno: () => number;
}

/** SIG_IGN, as the handler argument of signal(2). */
const SIG_IGN = 1;

interface Koffi {
  load(path: string | null): { func(definition: string): unknown };
  errno(): number;
}

/**
 * Loads koffi and binds `fcntl` and `execve`.
 * @throws when koffi or the C library cannot be loaded (koffi is an optional dependency).
 * @internal
 */
export async function loadExecLibc(): Promise<ExecLibc> {
  if (process.env['ONLYONE_NO_KOFFI'] === '1') throw new Error('koffi is disabled (ONLYONE_NO_KOFFI=1)');
  const loaded = (await import('koffi')) as unknown as { default?: Koffi } & Koffi;
  const koffi = loaded.default ?? loaded;
  let libc: { func(definition: string): unknown } | undefined;
  let failure: unknown;
  // glibc, then musl's names, then the symbols already linked into node itself.
  for (const path of ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1', null]) {
    try {
      libc = koffi.load(path);
      break;
    } catch (error) {
      failure = error;
    }
  }
  if (libc === undefined) throw failure;
  const signal = libc.func('intptr_t signal(int, intptr_t)') as (signal: number, handler: number) => number;
  return {
    fcntl: libc.func('int fcntl(int, int, int)') as ExecLibc['fcntl'],
    ignore: (number) => void signal(number, SIG_IGN),
    execve: libc.func('int execve(const char *, const char **, const char **)') as ExecLibc['execve'],
    errno: () => koffi.errno(),
  };
}
