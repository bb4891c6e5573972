// The holder side of bench/send.mjs, in its own process: an onlyone lock that echoes messages, and a bare
// `net` echo server on another abstract socket, in the same process so both answer under the same load.
import net from 'node:net';
import { acquire } from '../dist/index.js';

const [name, bareBody] = process.argv.slice(2);
const bareAddress = `\0${bareBody}${'\0'.repeat(107 - bareBody.length)}`;
const lock = await acquire(name, { onMessage: ({ data }) => data, ref: true });
const bare = net.createServer((socket) => {
  socket.on('error', () => {});
  // Buffers chunks and looks for the newline only in the newest one, as the holder's frame reader does.
  let chunks = [];
  socket.on('data', (chunk) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const line = Buffer.concat([...chunks, chunk.subarray(start, nl)]).toString('utf8');
      chunks = [];
      start = nl + 1;
      // Parse and re-encode, as the holder does: the baseline does the same JSON work, minus the protocol.
      socket.write(`${JSON.stringify({ type: 'reply', data: JSON.parse(line).data })}\n`);
    }
    if (start < chunk.length) chunks.push(chunk.subarray(start));
  });
});
bare.listen({ path: bareAddress, exclusive: true }, () => process.stdout.write('ready\n'));
process.stdin.resume();
process.stdin.on('end', async () => {
  await lock.release();
  bare.close();
  process.exit(0);
});
