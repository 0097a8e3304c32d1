import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConversationHeader, readConversationFiles } from '../../src/conversations/read.js';
import { tempDir } from '../helpers.js';

describe("the application's conversation files", () => {
  it('reads every header field and matches the Locrit by its folder name', () => {
    const header = parseConversationHeader(
      [
        'conversation_id: conv_20250913_142907',
        'locrit_name: Bob Technique',
        'user_id: user_1',
        'created_at: 2025-09-13T14:29:07',
        "last_activity: '2025-09-13T15:00:00'",
        'message_count: 12',
        'session_id: session_20250913_142907',
        'metadata:',
        '  channel: web',
        'status: active',
      ].join('\n'),
      '/x/conv.yaml',
    );
    assert.equal(header.locrit, 'bob_technique');
    assert.equal(header.messageCount, 12);
    assert.equal(header.sessionId, 'session_20250913_142907');
    assert.equal(header.lastActivity, '2025-09-13T15:00:00');
    assert.deepEqual(header.metadata, { channel: 'web' });
    assert.throws(() => parseConversationHeader('message_count: many\n', '/x/bad.yaml'), /message_count/);
  });

  it('lists unreadable files instead of failing, and a missing folder as absent', (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(path.join(dir, 'ok.yaml'), 'conversation_id: a\nmessage_count: 1\nsession_id: s\n');
    fs.writeFileSync(path.join(dir, 'bad.yml'), '- just\n- a list\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const files = readConversationFiles(dir);
    assert.equal(files.headers.length, 1);
    assert.deepEqual(files.unreadable.map((u) => path.basename(u.file)), ['bad.yml']);
    assert.equal(readConversationFiles(path.join(dir, 'nope')).exists, false);
  });
});
