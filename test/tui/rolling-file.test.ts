import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RollingFile } from '../../src/tui/rolling-file.js';
import { tuiLogger } from '../../src/tui/log.js';
import { tmpDir } from '../support/daemon.js';

describe('the TUI log file (rolled by size)', () => {
  it('rolls past the size, keeps the newest files besides the current one, links current.log to it, 0600 in 0700', () => {
    const dir = path.join(tmpDir(), 'state');
    const log = new RollingFile(dir, 'tui', 1000, 3);
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < 75; i++) log.write(line); // 7500 bytes: 10 lines a file, 8 files written
    log.close();
    const files = fs.readdirSync(dir).sort();
    console.log(`after 7,500 bytes in files of 1,000: ${files.join(' ')} -> current.log is ${fs.readlinkSync(path.join(dir, 'current.log'))}`);
    expect(files).toEqual(['current.log', 'tui.5.log', 'tui.6.log', 'tui.7.log', 'tui.8.log']);
    expect(fs.readlinkSync(path.join(dir, 'current.log'))).toBe('tui.8.log');
    for (const f of ['tui.5.log', 'tui.6.log', 'tui.7.log']) expect(fs.statSync(path.join(dir, f)).size).toBe(1000);
    expect(fs.statSync(path.join(dir, 'tui.8.log')).size).toBe(500);
    for (const f of files.filter((x) => x !== 'current.log')) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    // A new process continues the newest file while it has room.
    const again = new RollingFile(dir, 'tui', 1000, 3);
    again.write(line);
    again.close();
    expect(fs.statSync(path.join(dir, 'tui.8.log')).size).toBe(600);
  });

  it('the TUI logger writes pino JSON lines through it', async () => {
    const dir = path.join(tmpDir(), 'state');
    const log = await tuiLogger(dir);
    log('tui started', { server: 'http://127.0.0.1:1' });
    log('failed', new Error('boom'));
    const lines = fs.readFileSync(path.join(dir, 'current.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; level: number; server?: string; err?: { message: string } });
    expect(lines.map((l) => [l.msg, l.level])).toEqual([['tui started', 30], ['failed', 40]]);
    expect(lines[0]!.server).toBe('http://127.0.0.1:1');
    expect(lines[1]!.err!.message).toBe('boom');
  });
});
