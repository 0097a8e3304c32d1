/** One line about what an interrupted run left: each file and its size, and the command that clears them. */
import path from 'node:path';
import type { Leftover } from '../../retention/leftovers.js';
import { bytes } from '../format.js';

export function leftoversLine(leftovers: readonly Leftover[]): string {
  const commands = [...new Set(leftovers.map((l) => l.clearedBy))];
  const files = leftovers.map((l) => `${path.basename(l.path)} (${bytes(l.bytes)})`).join(', ');
  const total = leftovers.reduce((sum, l) => sum + l.bytes, 0);
  return `left by an interrupted run, ${bytes(total)}: ${files}; run \`${commands.join('` and `')}\` to clear ${leftovers.length === 1 ? 'it' : 'them'}`;
}
