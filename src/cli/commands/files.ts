import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { FileInfo } from '../../protocol/index.js';
import { downloadFile, uploadFile, type Progress } from '../../client/files.js';
import { sanitizeLine } from '../../client/sanitize.js';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { fileLine } from '../format.js';
import { humanBytes } from '../../client/units.js';
import { FILE_ID, sanitizeFileName } from '../../protocol/uploads.js';
import { parseIntArg, parseTarget } from '../input.js';

/**
 * A progress line on stderr when it is a terminal (redrawn in place, at most 10 times a second);
 * nothing in pipes. `end` clears it.
 */
export function progressBar(ctx: Context, label: string): { update: Progress; end: () => void } {
  if (!ctx.io.errTTY) return { update: () => {}, end: () => {} };
  let last = 0;
  let shown = false;
  const name = sanitizeLine(label).slice(0, 30);
  return {
    update: (done, total) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const fill = total > 0 ? Math.round((done / total) * width) : width;
      ctx.io.err(`\r${name} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${humanBytes(done)} / ${humanBytes(total)}\x1b[K`);
      shown = true;
    },
    end: () => { if (shown) ctx.io.err('\r\x1b[K'); },
  };
}

/** Uploads the files a send carries, one after the other, each with its progress line; their ids. */
export async function uploadAll(ctx: Context, paths: string[]): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (const p of paths) {
    const bar = progressBar(ctx, path.basename(p));
    try {
      out.push(await uploadFile(ctx.api(), p, { onProgress: bar.update }));
    } finally {
      bar.end();
    }
  }
  return out;
}

export async function runFiles(ctx: Context, peer: string, o: { limit?: number; beforeSeq?: number }) {
  const list = await ctx.api().sharedFiles(parseTarget(peer), o);
  ctx.print(list, () => list.map((f) => `${f.uploadedAt.replace('T', ' ').replace(/\.\d+Z$/, '')} #${f.seq} ${sanitizeLine(f.from)}: ${fileLine(f)}`).join('\n'));
  if (!ctx.json && list.length === 0) ctx.note('no files shared here');
}

/**
 * Downloads a file by id: to -o PATH, or to its (cleaned) name in the current folder. An existing
 * file is not overwritten without --force; a partial download (PATH.part) is continued.
 */
export async function runDownload(ctx: Context, id: string, o: { output?: string; force?: boolean }) {
  if (!FILE_ID.test(id)) throw new UsageError(`not a file id: ${JSON.stringify(id.slice(0, 60))} (ids are shown by "chat files" and "chat history")`);
  const api = ctx.api();
  let out = o.output;
  if (out === undefined || out === '-') {
    if (out === '-') throw new UsageError('-o - is not supported: give a file path');
    // The server's name is cleaned already; cleaned again here, it can only name a file in this folder.
    out = sanitizeFileName((await api.fileInfo(id)).name);
  }
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`cannot save to ${out}: ${dir} is not a folder`);
  if (fs.existsSync(out) && !o.force) throw new UsageError(`${out} exists: use --force to overwrite it, or -o to choose another path`);
  const bar = progressBar(ctx, path.basename(out));
  let r: Awaited<ReturnType<typeof downloadFile>>;
  try {
    r = await downloadFile(api, id, out, bar.update);
  } finally {
    bar.end();
  }
  ctx.done({ ...r.file, path: r.path, resumedFrom: r.resumedFrom }, () => `saved ${r.path} (${humanBytes(r.file.size)}${r.resumedFrom ? `, resumed from ${humanBytes(r.resumedFrom)}` : ''}; sha256 checked)`);
}

export function register(program: Command, ctx: () => Context) {
  program.command('files <with>').description('files shared with a friend or in a #group, newest first: time, #seq, sender, name, size, type, id')
    .option('--limit <n>', 'how many (default 50, max 500)', parseIntArg('--limit', 1, 500))
    .option('--before-seq <seq>', 'those sent before this seq (the next page)', parseIntArg('--before-seq', 1, Number.MAX_SAFE_INTEGER))
    .action((u: string, o: { limit?: number; beforeSeq?: number }) => runFiles(ctx(), u, o));
  program.command('download <id>').description('download a file by id (resumes a partial download, checks the sha256)')
    .option('-o, --output <path>', 'where to save it (default: its name, in this folder)')
    .option('--force', 'overwrite an existing file')
    .action((id: string, o: { output?: string; force?: boolean }) => runDownload(ctx(), id, o));
}
