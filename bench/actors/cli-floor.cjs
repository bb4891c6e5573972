// The floor for `onlyone run NAME -- true`: only what any such wrapper must do on Node 20, and nothing else.
// parseArgs (the CLI's parser), listen on a padded abstract name (the lock), spawn the command with the lock
// fd as fd 3, wait for it, exit with its status. CommonJS, like the shipped CLI bundle.
'use strict';
const { parseArgs } = require('node:util');
const net = require('node:net');
const { spawn } = require('node:child_process');

const { positionals } = parseArgs({ args: process.argv.slice(2), options: {}, allowPositionals: true, strict: false });
const [name = 'floor', , command = 'true'] = positionals;
const body = `onlyone-floor/${name}`;
const server = net.createServer();
server.listen({ path: `\0${body}${'\0'.repeat(107 - Buffer.byteLength(body))}`, exclusive: true }, () => {
  server.unref();
  const child = spawn(command, [], { stdio: ['inherit', 'inherit', 'inherit', server._handle.fd] });
  child.on('exit', (code) => {
    server.close();
    process.exitCode = code ?? 1;
  });
});
