// A raw protocol client for the fuzzer: bytes in, newline-delimited frames out, no library code involved.
import net from 'node:net';

/** Connects to `address`; resolves with helpers, or rejects with the connect error. */
export function connect(address) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: address });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(wrap(socket));
    });
  });
}

function wrap(socket) {
  const frames = [];
  const waiters = [];
  let buffer = '';
  let ended = false;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try { frames.push(JSON.parse(line)); } catch { frames.push({ type: '<unparseable>', line }); }
    }
    wake();
  });
  socket.on('end', () => { ended = true; wake(); });
  socket.on('close', () => { ended = true; wake(); });
  return {
    socket,
    frames,
    closed,
    get ended() { return ended; },
    write: (data) => new Promise((resolve) => { if (socket.destroyed) resolve(); else socket.write(data, () => resolve()); }),
    /** Resolves with the first frame matching `predicate`, or undefined on close or after `timeoutMs`. */
    async frame(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.find(predicate);
        if (found !== undefined) return found;
        if (ended || Date.now() >= deadline) return undefined;
        await new Promise((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, Math.max(1, deadline - Date.now())).unref();
        });
      }
    },
    close: () => socket.destroy(),
  };
}
