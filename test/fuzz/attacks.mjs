// What the fuzzer throws at a live holder. Each attack takes (address, rng, size) and returns notes; it
// throws only on what the protocol promises (docs/protocol.md): errors for bad frames, answers to good ones.
import { connect } from './client.mjs';

const FRAME_TIMEOUT_MS = 5000;
const NL = Buffer.from('\n');

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool(items, limit, fn) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const range = (n) => Array.from({ length: n }, (_, i) => i);
const isError = (code) => (f) => f.type === 'error' && (code === undefined || f.code === code);

async function expectError(client, code, what) {
  const frame = await client.frame(isError(code), FRAME_TIMEOUT_MS + 2000);
  if (frame === undefined) throw new Error(`${what}: no "${code}" error frame (got ${JSON.stringify(client.frames).slice(0, 300)})`);
}

export const attacks = {
  async 'random bytes'(address, rng, size) {
    let errors = 0;
    await pool(range(size), 16, async () => {
      const c = await connect(address);
      const bytes = rng.bytes(1 + rng.int(8192));
      if (rng.next() < 0.5) bytes[rng.int(bytes.length)] = 0x0a;
      await c.write(bytes);
      if (await c.frame(isError(), 300)) errors++;
      c.close();
    });
    return `${size} connections, ${errors} answered with an error frame`;
  },

  async 'truncated frames'(address, rng, size) {
    const frames = ['{"type":"ping","id":1}', '{"type":"message","id":2,"data":{"a":[1,2,3]}}', '{"type":"release","id":3}'];
    await pool(range(size), 16, async () => {
      const c = await connect(address);
      const frame = frames[rng.int(frames.length)];
      await c.write(frame.slice(0, rng.int(frame.length)));
      if (rng.next() < 0.5) c.socket.end();
      else c.close();
    });
    return `${size} connections closed mid-frame`;
  },

  async 'oversized frames'(address) {
    const big = 2 * 1024 * 1024;
    const noNewline = await connect(address);
    await noNewline.write(Buffer.alloc(big, 0x61));
    await expectError(noNewline, 'too_large', '2 MiB without a newline');
    noNewline.close();
    const message = await connect(address);
    await message.write(`{"type":"message","id":1,"data":"${'x'.repeat(big)}"}\n`);
    await expectError(message, 'too_large', '2 MiB message frame');
    message.close();
    const manySmall = await connect(address);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let i = 0; i < 40 && !manySmall.ended; i++) await manySmall.write(chunk);
    await expectError(manySmall, 'too_large', '2.5 MiB of spaces in 64 KiB writes');
    manySmall.close();
    return 'all three got too_large';
  },

  async 'invalid UTF-8'(address, rng, size) {
    const bad = [[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
    await pool(range(Math.min(size, 60)), 8, async () => {
      const c = await connect(address);
      const seq = Buffer.from(bad[rng.int(bad.length)]);
      await c.write(Buffer.concat([Buffer.from('{"type":"ping","x":"'), seq, Buffer.from('"}'), NL]));
      await expectError(c, 'bad_frame', `invalid UTF-8 ${seq.toString('hex')}`);
      c.close();
    });
    return 'every frame refused with bad_frame';
  },

  async 'deep nesting and huge numbers'(address) {
    const payloads = [
      `{"type":"message","id":1,"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      `{"type":"message","id":2,"data":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      `{"type":"message","id":3,"data":[1e999999,-1e999999,123456789012345678901234567890,5e-324,-0]}`,
      '{"type":"ping","id":1e400}',
      '{"type":"ping","id":123456789012345678901234567890}',
      '{"type":"ping","id":-0}',
      '{"type":"ping","id":1.5}',
      `{"type":"ping","id":"${'i'.repeat(65)}"}`,
      '{"type":"ping","id":NaN}',
    ];
    const outcomes = [];
    for (const payload of payloads) {
      const c = await connect(address);
      await c.write(`${payload}\n`);
      const answer = await c.frame((f) => f.type !== 'hello', FRAME_TIMEOUT_MS);
      outcomes.push(answer === undefined ? 'no answer' : answer.type === 'error' ? answer.code : answer.type);
      c.close();
    }
    // Every frame gets an answer: a reply, a pong or an error frame. Silence leaves the sender hanging.
    if (outcomes.includes('no answer')) throw new Error(`some frames got no answer within ${FRAME_TIMEOUT_MS} ms: ${outcomes.join(', ')}`);
    return outcomes.join(', ');
  },

  async 'every frame type out of order'(address, rng, size) {
    const types = ['hello', 'pong', 'reply', 'error', 'releasing', 'release', 'message', 'ping', 'busy', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty'];
    await pool(range(Math.max(4, Math.floor(size / 10))), 4, async (_, round) => {
      const c = await connect(address);
      const frames = range(40).map((i) => {
        const type = types[rng.int(types.length)];
        const frame = { type, id: i, ...(rng.next() < 0.5 ? { data: { round, i } } : {}), ...(rng.next() < 0.2 ? { v: rng.int(5), code: 'busy' } : {}) };
        return `${JSON.stringify(frame)}\n`;
      });
      // Some rounds write before the hello was read, some all at once, some frame by frame.
      if (round % 2 === 0) await c.write(frames.join(''));
      else for (const f of frames) await c.write(f);
      await c.write('{"type":"ping","id":"final"}\n');
      const pong = await c.frame((f) => f.type === 'pong' && f.id === 'final', 10_000);
      if (pong === undefined) throw new Error(`no pong after out-of-order frames (round ${round}): ${JSON.stringify(c.frames).slice(0, 400)}`);
      c.close();
    });
    const weird = ['{"type":1}', '{"type":null}', '{"type":{"a":1}}', '[]', '"hello"', '{}', '{"id":1}', 'null'];
    for (const line of weird) {
      const c = await connect(address);
      await c.write(`${line}\n`);
      await expectError(c, 'bad_frame', line);
      c.close();
    }
    return 'holder answered ping after every sequence; malformed frames got bad_frame';
  },

  async slowloris(address, rng, size) {
    const count = Math.min(200, size);
    const clients = await pool(range(count), 50, () => connect(address));
    const text = '{"type":"ping","id":"slow"}';
    const started = Date.now();
    const drip = setInterval(() => {
      for (const c of clients) if (!c.ended) c.socket.write(text[Math.min(text.length - 1, Math.floor((Date.now() - started) / 300))]);
    }, 300);
    const deadline = FRAME_TIMEOUT_MS * 3;
    const cut = await Promise.all(clients.map((c) => Promise.race([c.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), deadline))])));
    clearInterval(drip);
    for (const c of clients) c.close();
    const survivors = cut.filter((x) => !x).length;
    if (survivors > 0) throw new Error(`${survivors} of ${count} slowloris connections still open after ${deadline} ms`);
    return `${count} dripping connections, all cut within ${((Date.now() - started) / 1000).toFixed(1)} s`;
  },

  async flood(address, rng, size, { floodSize }) {
    const outcomes = new Map();
    const clients = [];
    await pool(range(floodSize), 500, async () => {
      try {
        const c = await connect(address);
        clients.push(c);
        const first = await c.frame(() => true, 2000);
        const key = first === undefined ? 'no frame' : first.type === 'error' ? first.code : first.type;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      } catch (error) {
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      }
    });
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => c.closed));
    return `${floodSize} connections: ${[...outcomes].map(([k, v]) => `${v} ${k}`).join(', ')}`;
  },
};
