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
}

/** Receives a message and returns the reply (any JSON value), directly or through a promise. */
export type MessageHandler = (message: IncomingMessage) => unknown;
