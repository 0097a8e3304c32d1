/** --list: every backup of each Locrit (opened read-only in workers) and every archive, newest first. */
import fs from 'node:fs';
import path from 'node:path';
import { listArchives, readManifest } from '../archive/format.js';
import { fileSizes } from '../layout/files.js';
import type { LocritTarget } from '../layout/locrits.js';
import { runEach } from '../runner/pool.js';
import { elapsed, emptyBase, type RecoverEnv } from './flow.js';
import type { ListedArchive, ListedBackup, ListPart, Timed } from './types.js';

export async function listAll(env: RecoverEnv, targets: LocritTarget[]): Promise<Timed<ListPart>[]> {
  const results: Timed<ListPart>[] = [];
  for (const target of targets) {
    const started = performance.now();
    const part: ListPart = { ...emptyBase('requested'), action: 'list', outcome: 'listed', backups: [], archives: [] };
    const found = fileSizes(target.dbPath, env.backupDir).backups.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    const asTargets = found.map((b): LocritTarget => ({ name: target.name, dir: path.dirname(b.path), dbPath: b.path }));
    const inspected = await runEach('recover-inspect', asTargets, { path: null, store: env.store }, { jobs: env.jobs, knobs: env.knobs });
    part.backups = found.map((b, i): ListedBackup => {
      const outcome = inspected[i];
      return {
        path: b.path, madeBy: b.madeBy, createdAt: b.createdAt, bytes: b.bytes, walBytes: fs.statSync(`${b.path}.wal`, { throwIfNoEntry: false })?.size ?? null,
        messages: outcome.ok ? outcome.value.messages : null, newestMessageAt: outcome.ok ? outcome.value.newestMessageAt : null,
        readable: outcome.ok, error: outcome.ok ? null : outcome.error.message,
      };
    });
    const archives = listArchives(env.archiveDir, target.name);
    part.archives = [
      ...archives.complete.reverse().map((folder): ListedArchive => {
        try {
          const { manifest } = readManifest(folder);
          return {
            folder, complete: true, createdAt: manifest.createdAt, reason: manifest.reason, rules: manifest.rules.map((r) => r.rule),
            messages: manifest.counts.messages, bytes: manifest.files.reduce((s, f) => s + f.bytes, 0),
            oldest: manifest.timeRange.oldest, newest: manifest.timeRange.newest, error: null,
          };
        } catch (error) {
          return { folder, complete: true, createdAt: null, reason: null, rules: [], messages: null, bytes: 0, oldest: null, newest: null, error: (error as Error).message };
        }
      }),
      ...archives.partial.map((folder): ListedArchive => ({
        folder, complete: false, createdAt: null, reason: null, rules: [], messages: null, bytes: folderBytes(folder), oldest: null, newest: null,
        error: `incomplete: an interrupted archive run (\`locrit-mem archive ${target.name}\` removes it)`,
      })),
    ];
    results.push({ target, part, durationMs: elapsed(started) });
  }
  return results;
}

/** What a partial archive folder really takes on disk (its files are there even though the archive is not complete). */
function folderBytes(folder: string): number {
  let sum = 0;
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    sum += entry.isDirectory() ? folderBytes(full) : (fs.statSync(full, { throwIfNoEntry: false })?.size ?? 0);
  }
  return sum;
}
