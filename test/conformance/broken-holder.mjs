// A holder that breaks protocol v1 on purpose, for the conformance suite's self-check: it answers `ping`
// without echoing the request's id. `node broken-holder.mjs NAME`.
import net from 'node:net';

const name = process.argv[2];
const body = Buffer.byteLength(`onlyone/v1/u${process.getuid()}/${name}`);
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.write(`${JSON.stringify({ type: 'hello', v: 1, name, scope: 'user', pid: process.pid, uid: process.getuid(), hostname: 'x', argv: process.argv, cwd: process.cwd(), acquiredAt: Date.now(), backend: 'abstract' })}\n`);
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.includes('"ping"')) socket.write('{"type":"pong"}\n');
    }
  });
});
server.listen({ path: `\0onlyone/v1/u${process.getuid()}/${name}${'\0'.repeat(107 - body)}`, exclusive: true });
