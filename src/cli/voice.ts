// The CLI speaks one voice: "onlyone: " then a lowercase sentence that names command-line flags, never the
// library's option names, and never Node's raw parseArgs text.

/** The library options the command line sets, and the flag that sets each. */
const FLAG_FOR_OPTION: Readonly<Record<string, string>> = {
  scope: '--scope',
  prefix: '--prefix',
  backend: '--backend',
  url: '--backend',
  dir: '--dir',
  expectedUid: '--expect-user',
  slots: '--slots',
  ttlSeconds: '--ttl',
  oncePer: '--once-per',
  windowOffsetMs: '--offset',
  timeZone: '--tz',
  retryFailed: '--retry-failed',
  minHoldMs: '--min-hold',
  coalesce: '--coalesce',
};

/** Library options in milliseconds that the command line sets in seconds. */
const SECONDS_FLAG_FOR_MS_OPTION: Readonly<Record<string, string>> = {
  idleSessionTimeoutMs: '--idle-session-timeout',
};

/**
 * A library error message as the CLI says it: "The `backend` option" becomes "--backend", "(the
 * expectedUid option)" becomes "(--expect-user)", and the first letter is lowercase unless it starts an
 * acronym or a name such as "PostgreSQL".
 * @internal
 */
export function cliVoice(message: string): string {
  const flagged = message
    .replace(/\bThe `(\w+Ms)` option must be an integer >= (\d+), got (\S+)/gu, (whole, option: string, min: string, got: string) => {
      const flag = SECONDS_FLAG_FOR_MS_OPTION[option];
      return flag === undefined ? whole : `${flag} must be at least ${Number(min) / 1000} seconds, got ${Number(got) / 1000}`;
    })
    .replace(/\(the `?(\w+)`? option\)/gu, (whole, option: string) => (FLAG_FOR_OPTION[option] === undefined ? whole : `(${FLAG_FOR_OPTION[option]})`))
    .replace(/\bThe `(\w+)` option\b/gu, (whole, option: string) => FLAG_FOR_OPTION[option] ?? whole)
    .replace(/`(\w+)`/gu, (whole, option: string) => FLAG_FOR_OPTION[option] ?? whole)
    .replace(/ \(`maxMessageBytes`\)/gu, ''); // the CLI has no flag for the cap: the number says it
  return /^[A-Z][a-z]/u.test(flagged) && !/^(?:PostgreSQL|Node)\b/u.test(flagged) ? `${flagged[0]?.toLowerCase() ?? ''}${flagged.slice(1)}` : flagged;
}

/**
 * What `node:util.parseArgs` threw, in the CLI's voice: one line, naming the flag as --help writes it
 * (`-E/--conflict-exit-code`), instead of Node's "Option '-E' argument is ambiguous" and two more lines.
 * @internal
 */
export function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? String(error);
  const named = /'(-\w|--[\w-]+)(?:, (--[\w-]+))?(?: <value>)?'/u.exec(text);
  const first = named?.[1] ?? '';
  const long = named?.[2] ?? /use '(--[\w-]+)=/u.exec(text)?.[1];
  const shown = long === undefined || long === first ? first : `${first}/${long}`;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${/'([^']+)'/u.exec(text)?.[1] ?? first}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/u.test(text)) return `${shown} takes no value`;
      if (/ambiguous/u.test(text)) return `${shown} needs a value; for one that starts with '-', write ${long ?? first}=VALUE`;
      return `${shown} needs a value`;
    default:
      return text.split('\n', 1)[0]?.replace(/\. To specify a positional.*$/su, '').replace(/^[A-Z](?=[a-z])/u, (c) => c.toLowerCase()) ?? text;
  }
}
