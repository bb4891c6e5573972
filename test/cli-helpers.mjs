// Helpers for the CLI tests: run the built `onlyone` (dist/cli/main.js) as a real process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Starts `onlyone ...args`; the caller decides what to do with it. */
export function startCli(args, { stdin = 'ignore', env, cwd } = {}) {
  const child = spawn(process.execPath, [cliPath, ...args], {
    stdio: [stdin, 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
    ...(env ? { env: { ...process.env, ...env } } : {}),
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const done = (async () => {
    const [code, signal] = await once(child, 'exit');
    // Output is complete once the pipes close, but a command that outlives a SIGKILLed onlyone keeps them open.
    const closed = [child.stdout, child.stderr].filter((s) => !s.closed).map((s) => once(s, 'close').catch(() => {}));
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, signal === 'SIGKILL' ? 100 : 5000).unref())]);
    return { code, signal, stdout, stderr };
  })();
  return {
    child,
    done,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    /** Resolves once stdout contains `text`; rejects if the process ends first or after `timeoutMs`. */
    async waitFor(text, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited before printing ${JSON.stringify(text)}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms; stdout ${JSON.stringify(stdout)}`);
        await Promise.race([once(child.stdout, 'data'), once(child, 'exit'), new Promise((r) => setTimeout(r, 200))]);
      }
    },
  };
}

/** Runs `onlyone ...args` to completion: { code, signal, stdout, stderr }. */
export function cli(args, options) {
  return startCli(args, options).done;
}

/**
 * Starts `onlyone run [extraArgs] NAME -- sh -c '...'`, whose command holds NAME until `release()` creates a
 * stop file (or its directory disappears), and resolves once the command runs (so the lock is held). A stop file rather than stdin: Node
 * closes a child's stdin pipe when the child exits, and the command must outlive a SIGKILLed `onlyone`.
 */
export async function holdWithCli(name, extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'onlyone-cli-'));
  const stop = join(dir, 'stop');
  const script = `echo ready; while [ -d ${dir} ] && [ ! -e ${stop} ]; do sleep 0.05; done; echo done`;
  const run = startCli(['run', ...extraArgs, name, '--', 'sh', '-c', script]);
  await run.waitFor('ready');
  /** Ends the command; resolves when `onlyone` has exited (at once if it is already dead). Idempotent. */
  let released;
  const release = () => {
    released ??= (async () => {
      writeFileSync(stop, '');
      const result = await run.done;
      rmSync(dir, { recursive: true, force: true });
      return result;
    })();
    return released;
  };
  return Object.assign(run, { release, script });
}
