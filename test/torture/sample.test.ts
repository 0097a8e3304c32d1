/**
 * A fixed sample of the torture campaign (torture/): one damaged file of each kind and a few bad
 * inputs of each group, with a fixed seed. The full campaign is `npm run torture`; this keeps a
 * regression from reaching main unnoticed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CASES, runCampaign } from '../../torture/campaign.js';
import { inputCases } from '../../torture/kinds/input.js';

const SEED = 7;

/** A few bad inputs of every group: FIFOs, symlinks, config types, numbers. */
function inputSample(): string[] {
  const wanted = [
    /jobs word/, /--days overflow/, /--watch huge/, /--batch-size hex/, /config archive.dir: list/, /config kuzu.buffer_pool_mb: below/,
    /config file is a FIFO/, /a Locrit folder that is a symlink/, /^stats: kuzu.db is a FIFO/, /^recover: kuzu.db.wal is a FIFO/, /manifest is a FIFO/, /data directory is a file/,
  ];
  const cases = inputCases();
  return wanted.map((re) => {
    const found = cases.find((c) => re.test(c.label));
    assert.ok(found, `no input case matches ${re}`);
    return found.id;
  });
}

describe('torture sample', () => {
  it('damaged files and bad input: no crash, no hang, one error line, JSON intact, nothing lost', async () => {
    const only = [...Array.from({ length: 8 }, (_, i) => `damaged-${i}`), ...inputSample()];
    const { results } = await runCampaign({ seed: SEED, kinds: ['damaged', 'input'], cases: { ...DEFAULT_CASES, damaged: 8 }, jobs: 2, only });
    assert.equal(results.length, only.length);
    const failed = results.filter((r) => !r.passed && !r.skipped);
    assert.deepEqual(failed.map((f) => `${f.id} ${f.label}: ${f.failures.join('; ')}`), []);
    // One of each damage, and the messages of the undamaged file counted for every one.
    assert.equal(new Set(results.filter((r) => r.kind === 'damaged').map((r) => r.group)).size, 8);
    for (const r of results.filter((x) => x.kind === 'damaged')) assert.ok(r.rows && r.rows.expected >= 240, r.id);
  });

  it('full disk: one error naming the disk and its free space, exit 3, nothing lost, no work file left, the rerun works', async () => {
    // Cases of the default campaign that run out of space: compaction past its own check, a
    // restore from a backup and from an archive, the backup before a WAL replay, a salvage.
    const only = ['disk-1', 'disk-4', 'disk-5', 'disk-8', 'disk-9'];
    const { results } = await runCampaign({ seed: 20261129, kinds: ['disk'], cases: { ...DEFAULT_CASES }, jobs: 2, only });
    assert.equal(results.length, only.length);
    const failed = results.filter((r) => !r.passed && !r.skipped);
    assert.deepEqual(failed.map((f) => `${f.id} ${f.label}: ${f.failures.join('; ')}`), []);
    for (const r of results.filter((x) => !x.skipped)) assert.ok((r.notes ?? []).some((n) => /ran out of space \(exit 3\): no space left on the disk of /.test(n)), `${r.id}: ${(r.notes ?? []).join('; ')}`);
  });
});
