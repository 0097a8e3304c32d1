/**
 * Unsaved conversations: the application counts messages in its conversation files;
 * a conversation whose message_count exceeds what its session holds in Kuzu (plus what was
 * archived from it) lost messages that were never saved. Pure: no file or Kuzu access here.
 */
import type { ConversationHeader } from '../conversations/read.js';
import type { ConversationCheck, UnsavedConversation } from './types.js';

export function findUnsavedConversations(
  headers: ConversationHeader[],
  storedPerSession: Record<string, number>,
  archivedPerSession: Record<string, number> | null,
): ConversationCheck {
  const unsaved: UnsavedConversation[] = [];
  let checked = 0;
  let notComparable = 0;
  for (const header of headers) {
    if (header.sessionId === null || header.messageCount === null) {
      notComparable++;
      continue;
    }
    checked++;
    const stored = storedPerSession[header.sessionId] ?? 0;
    const archived = archivedPerSession?.[header.sessionId] ?? 0;
    const missing = header.messageCount - stored - archived;
    if (missing > 0) {
      unsaved.push({
        conversationId: header.conversationId, file: header.file, sessionId: header.sessionId, recorded: header.messageCount,
        stored, archived, missing, lastActivity: header.lastActivity, status: header.status,
      });
    }
  }
  unsaved.sort((a, b) => b.missing - a.missing || a.conversationId.localeCompare(b.conversationId));
  return { checked, notComparable, unsaved, archivesCounted: archivedPerSession !== null };
}
