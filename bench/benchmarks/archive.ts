/** 3: archive. Written when the command lands (see bench/RESULTS.md). */
import type { BenchOutcome } from '../lib/report.js';
import type { BenchContext } from './context.js';

export async function archive(_ctx: BenchContext): Promise<BenchOutcome> {
  return { id: '3', title: 'archive', figures: [], skipped: 'the command has not landed yet', notes: [], seconds: 0 };
}
