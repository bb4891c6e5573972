/** Who sent a request to a holder. */
export interface PeerIdentity {
  /** The sender's pid, when known. */
  readonly pid: number | undefined;
  /** The sender's uid, when known. */
  readonly uid: number | undefined;
  /** True when the kernel reported pid and uid (SO_PEERCRED); false when they could not be checked. */
  readonly verified: boolean;
}

/** A message a second instance sent to the holder. */
export interface IncomingMessage {
  /** The sender's argv, exactly as it was given. */
  readonly argv: readonly string[];
  /** The sender's working directory. */
  readonly cwd: string;
  /** Any JSON value, as sent. */
  readonly data: unknown;
  /** Who sent it. */
  readonly from: PeerIdentity;
  /**
   * Aborts when the answer is no longer wanted: the holder's `messageTimeoutMs` passed, or the connection closed.
   * A sender that hangs up looks like one that half-closes (both send EOF), and the latter still wants its
   * answer, so a sender that gave up is noticed only when the connection closes or the timeout passes.
   */
  readonly signal: AbortSignal;
}

/** Receives a message and returns the reply (any JSON value), directly or through a promise. */
export type MessageHandler = (message: IncomingMessage) => unknown;
