/**
 * The CLI's stdout and stderr: nothing written is lost when the process ends, and a reader that goes away
 * early (`onlyone list | head -1`) ends the command quietly, as it would end a Unix tool, instead of crashing it.
 */

/** Whether the reader of stdout went away: further output is dropped, silently. */
let readerGone = false;

/**
 * Turns EPIPE on stdout or stderr into silence: without a listener, Node would throw the 'error' event as an
 * uncaught exception and print a stack. Any other write error still surfaces.
 * @internal
 */
export function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') {
        readerGone = true;
        return;
      }
      throw error;
    });
  }
}

/** True once stdout's reader has gone away (EPIPE). @internal */
export function outputReaderGone(): boolean {
  return readerGone;
}

/**
 * Resolves once everything written to stdout and stderr so far has been handed to the kernel (or the reader
 * went away), so the process can exit without cutting a pipe short.
 * @internal
 */
export async function flushOutput(): Promise<void> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
}

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  // Writes complete in order: the callback of an empty write runs once every earlier write has completed.
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.write('', () => resolve());
  });
}
