import type { LoopDelays } from './loop-policy.js';
import type { SendDataSource } from './send-data.js';
import type { ScheduleArgs } from './args-schedule.js';

/** The CLI's sub-commands. @internal */
export type CommandName = 'run' | 'status' | 'list' | 'wait' | 'send' | 'stop' | 'lock' | 'unlock';

/** How `run` repeats its command while keeping the lock. @internal */
export type LoopMode = 'once' | 'keep-running' | 'until-success' | 'until-failure';

/** Options every command shares: which lock, where. @internal */
export interface LockArgs {
  readonly scope: 'user' | 'system';
  readonly prefix: string | undefined;
  /** A backend name, or a URL such as `postgres://host/db`. */
  readonly backend: string | undefined;
  readonly dir: string | undefined;
  /** `--expect-user`: the uid that should hold the lock; another holder is a squatter (exit 77). */
  readonly expectedUid: number | undefined;
}

/** `onlyone lock`: which lock, and how to take it, for the life of the calling process. @internal */
export interface LockForCaller {
  readonly name: string;
  readonly lock: LockArgs;
  readonly wait: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly conflictCode: number;
  readonly quiet: boolean;
}

/** What the `onlyone lock` command hands to the process that holds the lock for its caller. @internal */
export interface LockHolderSpec extends LockForCaller {
  /** The process the lock lives with: the caller of `onlyone lock`. */
  readonly callerPid: number;
  /** The `onlyone lock` process itself, whose parent must still be the caller when the pidfd is opened. */
  readonly cliPid: number;
}

/** A parsed command line. @internal */
export type Parsed =
  | { readonly command: 'help'; readonly topic: CommandName | undefined }
  | { readonly command: 'version' }
  | {
      readonly command: 'run';
      readonly name: string;
      /**
       * No NAME was given: the command line the name is derived from (run-one's habit). For `-c STRING` it is
       * `sh -c STRING` whatever `$SHELL` is, so cron and a login shell derive the same name.
       */
      readonly nameFrom: readonly string[] | undefined;
      readonly lock: LockArgs;
      readonly wait: boolean;
      readonly timeoutSeconds: number | undefined;
      readonly conflictCode: number;
      readonly quiet: boolean;
      readonly inherit: boolean;
      /** flock's --verbose: say how long the lock took and what runs. */
      readonly verbose: boolean;
      readonly graceSeconds: number;
      /** postgres: the server frees the lock of a holder silent this long (the library's `idleSessionTimeoutMs`). */
      readonly idleSessionTimeoutMs: number | undefined;
      /** etcd: the lease's TTL in seconds (the library's `ttlSeconds`). */
      readonly ttlSeconds: number | undefined;
      readonly argv: readonly [string, ...string[]];
      /** On a conflict, send our argv and cwd to the holder and print its reply. */
      readonly forward: boolean;
      /** Shell command run for each message (message JSON on stdin, reply on stdout). */
      readonly onMessage: string | undefined;
      /** Signal sent to the command for each message instead. */
      readonly onMessageSignal: NodeJS.Signals | undefined;
      readonly replace: boolean;
      readonly slots: number | undefined;
      readonly loop: LoopMode;
      readonly delays: LoopDelays;
      /** `--exec`: replace onlyone with the command, which then holds the lock itself (no supervisor). */
      readonly exec: boolean;
      /** --once-per, --min-hold, --coalesce. */
      readonly schedule: ScheduleArgs;
    }
  | { readonly command: 'status'; readonly name: string; readonly lock: LockArgs; readonly json: boolean; readonly slots: number | undefined }
  | { readonly command: 'list'; readonly lock: LockArgs; readonly json: boolean }
  | ({ readonly command: 'lock' } & LockForCaller)
  | { readonly command: 'unlock'; readonly name: string; readonly lock: LockArgs; readonly quiet: boolean }
  | { readonly command: 'lock-holder'; readonly spec: LockHolderSpec }
  | {
      readonly command: 'wait';
      readonly name: string;
      readonly lock: LockArgs;
      readonly timeoutSeconds: number | undefined;
      readonly quiet: boolean;
      readonly slots: number | undefined;
    }
  | {
      readonly command: 'send';
      readonly name: string;
      readonly lock: LockArgs;
      /** `--json`: the data itself, `-` (stdin) or `@FILE`, read by the send command. */
      readonly data: SendDataSource;
      readonly timeoutSeconds: number | undefined;
      readonly argv: readonly string[];
    }
  | {
      readonly command: 'stop';
      readonly name: string;
      readonly lock: LockArgs;
      readonly graceSeconds: number;
      readonly killAfterSeconds: number | undefined;
    };

/** A command line that cannot be understood; `topic` says which usage to print. @internal */
export class UsageError extends Error {
  readonly topic: CommandName | undefined;

  constructor(message: string, topic: CommandName | undefined) {
    super(message);
    this.topic = topic;
  }
}
