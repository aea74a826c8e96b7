/**
 * Writes text to stdout straight to its file descriptor, synchronously.
 * process.stdout is a stream that node builds on first use (for a pipe, a
 * socket with the stream machinery: about as much work as a short step's
 * own), so text a step prints once and then exits after, such as --help,
 * goes around it. A descriptor left non-blocking and full (EAGAIN) gets the
 * rest through the stream, which waits for room.
 */
export function writeStdoutSync(text: string): void {
  const { writeSync } = process.getBuiltinModule('node:fs');
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written, bytes.length - written);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    process.stdout.write(bytes.subarray(written));
  }
}
