import fs from 'node:fs';
import path from 'node:path';

/**
 * A log file that rolls by size: lines go to `<base>.<n>.log`; when one passes `maxBytes` the
 * next line starts `<base>.<n+1>.log`, and only the newest `keep` files besides it are kept.
 * `current.log` links to the file in use. Writes are synchronous (a crash must not lose the last
 * line), files 0600. What pino needs of a destination: write(line).
 */
export class RollingFile {
  private fd = -1;
  private n = 0;
  private size = 0;

  constructor(private readonly dir: string, private readonly base: string, private readonly maxBytes: number, private readonly keep: number) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Continue the newest file there is, unless it is full.
    const newest = Math.max(0, ...this.numbers());
    this.open(newest === 0 ? 1 : newest);
    if (this.size >= maxBytes) this.roll();
  }

  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.roll();
    fs.writeSync(this.fd, line);
    this.size += bytes;
    return true;
  }

  close() {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  private file(n: number) {
    return `${this.base}.${n}.log`;
  }

  /** The numbers of this log's files in the folder. */
  private numbers(): number[] {
    const re = new RegExp(`^${this.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.log$`);
    return fs.readdirSync(this.dir).map((f) => re.exec(f)?.[1]).filter((x): x is string => x !== undefined).map(Number);
  }

  private open(n: number) {
    this.close();
    this.n = n;
    const file = path.join(this.dir, this.file(n));
    this.fd = fs.openSync(file, 'a', 0o600);
    fs.fchmodSync(this.fd, 0o600);
    this.size = fs.fstatSync(this.fd).size;
    const link = path.join(this.dir, 'current.log');
    fs.rmSync(link, { force: true });
    fs.symlinkSync(this.file(n), link);
  }

  private roll() {
    this.open(this.n + 1);
    for (const old of this.numbers()) if (old < this.n - this.keep) fs.rmSync(path.join(this.dir, this.file(old)), { force: true });
  }
}
