import type { Backend, BackendCapabilities } from './types.js';

/** The optional `Backend` methods a lazily loaded backend can forward. @internal */
type Forwarded = 'ledger' | 'lastRun' | 'reruns' | 'requestRerun';

/**
 * A backend as the registry sees it before its modules load: the same kind and capabilities, and every call loads
 * the implementation first (once), so programs on the local backends never load a server backend's code.
 * `forwards` names the optional methods it has, since callers test for them before anything is loaded.
 * @internal
 */
export function lazyBackend(kind: string, capabilities: BackendCapabilities, forwards: readonly Forwarded[], load: () => Promise<Backend>): Backend {
  let loaded: Promise<Backend> | undefined;
  const backend = (): Promise<Backend> => (loaded ??= load());
  const lazy: Backend = {
    kind,
    capabilities,
    acquire: async (request) => (await backend()).acquire(request),
    status: async (name, options) => (await backend()).status(name, options),
    list: async (options) => (await backend()).list(options),
  };
  const method = async <K extends Forwarded>(key: K): Promise<NonNullable<Backend[K]>> => {
    const implementation = (await backend())[key];
    if (implementation === undefined) throw new Error(`the ${kind} backend has no ${key}`);
    return implementation;
  };
  const forwarded: Partial<Pick<Backend, Forwarded>> = {
    ledger: async (name, options, lock) => (await method('ledger'))(name, options, lock),
    lastRun: async (name, options) => (await method('lastRun'))(name, options),
    reruns: async (name, options, lock) => (await method('reruns'))(name, options, lock),
    requestRerun: async (name, options, request) => (await method('requestRerun'))(name, options, request),
  };
  for (const key of forwards) Object.assign(lazy, { [key]: forwarded[key] });
  return lazy;
}
