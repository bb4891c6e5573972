import { BackendError } from '../../errors.js';

/** The part of a `pg` query result this backend reads. @internal */
export interface PgResult {
  readonly rows: Array<Record<string, unknown>>;
}

/** The part of `pg.Client` this backend uses; typed here so the published types never mention `pg`. @internal */
export interface PgClient {
  readonly user?: string;
  readonly host?: string;
  readonly port?: number;
  readonly processID: number | null;
  readonly secretKey: number | null;
  connect(): Promise<void>;
  query(text: string, values?: readonly unknown[]): Promise<PgResult>;
  end(): Promise<void>;
  ref(): void;
  unref(): void;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'notice', listener: (notice: Error) => void): this;
}

/** Connection settings handed to `new pg.Client()`. @internal */
export interface PgClientConfig {
  readonly connectionString?: string;
  readonly application_name: string;
  readonly options?: string;
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelayMillis: number;
  readonly connectionTimeoutMillis: number;
}

/** @internal */
export type PgClientConstructor = new (config: PgClientConfig) => PgClient;

let driver: Promise<PgClientConstructor> | undefined;
/** A variable specifier keeps TypeScript from needing pg's types (the published types never depend on pg). */
const PG_MODULE: string = 'pg';

/**
 * Loads `pg` on first use. It is an optional peer dependency: nothing else in onlyone imports it.
 * @throws BackendError (`ERR_BACKEND`) when `pg` is not installed.
 * @internal
 */
export function loadPg(): Promise<PgClientConstructor> {
  driver ??= import(PG_MODULE).then(
    (module: { default?: { Client?: unknown }; Client?: unknown }) => {
      const Client = module.Client ?? module.default?.Client;
      if (typeof Client !== 'function') throw new BackendError('The installed `pg` package has no Client class; install pg 8 (npm install pg@8)');
      return Client as PgClientConstructor;
    },
    (error: unknown) => {
      driver = undefined;
      throw new BackendError('The postgres backend needs the `pg` package, which is not installed (npm install pg)', { cause: error });
    },
  );
  return driver;
}
