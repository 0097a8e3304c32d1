/** 4: compaction (archive --compact). Written when the command lands (see bench/RESULTS.md). */
import type { BenchOutcome } from '../lib/report.js';
import type { BenchContext } from './context.js';

export async function compaction(_ctx: BenchContext): Promise<BenchOutcome> {
  return { id: '4', title: 'compaction (archive --compact)', figures: [], skipped: 'the command has not landed yet', notes: [], seconds: 0 };
}
