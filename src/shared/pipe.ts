/**
 * `chat history | head -1`, `chatd config | head -1`: once the reader is gone, the output has
 * nowhere to go. End quietly (exit 0, no stack trace), as cat and grep do.
 */
export function quietOnClosedPipe() {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
