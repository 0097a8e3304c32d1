import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeLocrit, runCli, tempDir, writeConfig } from '../helpers.js';

describe('stats --sessions', () => {
  it('lists every session, largest first: user, messages, first and last message, and whether it is over or near the conversation cap', async (t) => {
    const root = tempDir(t);
    const memory = path.join(root, 'memory');
    const fixture = await makeLocrit(memory, { name: 'carol', messages: 230, sessions: 3 });
    writeConfig(root, 'memory:\n  base_path: memory\n  max_messages_per_conversation: 80\n');
    const json = await runCli(['stats', 'carol', '--sessions', '--json'], { cwd: root });
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout).locrits[0].database.sessionList as { id: string; userId: string; messages: number; firstMessageAt: string; lastMessageAt: string; cap: string }[];
    const expected = Object.entries(fixture.sessionSizes).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
    assert.deepEqual(list.map((s) => [s.id, s.messages]), expected);
    for (const s of list) {
      assert.equal(s.cap, s.messages > 80 ? 'over' : s.messages >= 64 ? 'warn' : 'ok', s.id);
      assert.ok(s.firstMessageAt <= s.lastMessageAt);
      assert.match(s.userId, /^user_/);
    }
    const text = await runCli(['stats', 'carol', '--sessions'], { cwd: root });
    const over = list.filter((s) => s.cap === 'over').length;
    assert.match(text.stdout, new RegExp(`carol: 3 sessions, ${over} over max_messages_per_conversation 80, \\d+ near it`));
    assert.match(text.stdout, new RegExp(`│ ${list[0].id} +│ user_\\d +│ ${list[0].messages} +│ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +│ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d +│ over \\(${list[0].messages - 80} above\\) │`));
    const plain = await runCli(['stats', 'carol', '--json'], { cwd: root });
    assert.equal(JSON.parse(plain.stdout).locrits[0].database.sessionList, undefined, 'only with --sessions');
  });
});
