// A Node contender in the matrix: tries to acquire NAME and reports what it saw.
import { acquire } from '../../dist/index.js';

const name = process.argv[2];
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
try {
  const lock = await acquire(name, { helloTimeoutMs: 300 });
  emit({ event: 'acquired', node: process.version });
  await lock.release();
} catch (error) {
  emit({ event: 'busy', code: error.code, holderPid: error.holder?.pid, holderVerified: error.holder?.verified, node: process.version });
}
