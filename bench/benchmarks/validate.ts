/** 5: validate --deep. Written when the command lands (see bench/RESULTS.md). */
import type { BenchOutcome } from '../lib/report.js';
import type { BenchContext } from './context.js';

export async function validateDeep(_ctx: BenchContext): Promise<BenchOutcome> {
  return { id: '5', title: 'validate --deep', figures: [], skipped: 'the command has not landed yet', notes: [], seconds: 0 };
}
