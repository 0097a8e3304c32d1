/**
 * The Locrit application's conversation header files: `<conversations.dir>/<id>.yaml`, one per
 * conversation, with conversation_id, locrit_name, user_id, created_at, last_activity,
 * message_count, session_id, metadata and status. The message bodies live only in Kuzu; these
 * headers say how many messages the application meant to keep (its conversation manager saves them).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { folderName } from '../layout/locrits.js';

export interface ConversationHeader {
  file: string;
  conversationId: string;
  /** The Locrit's display name as the application wrote it. */
  locritName: string | null;
  /** The Locrit's folder name: folderName(locrit_name). */
  locrit: string | null;
  userId: string | null;
  sessionId: string | null;
  createdAt: string | null;
  lastActivity: string | null;
  /** Messages the application counted in this conversation. */
  messageCount: number | null;
  status: string | null;
  metadata: unknown;
}

export interface UnreadableConversation {
  file: string;
  error: string;
}

export interface ConversationFiles {
  dir: string;
  /** False when the folder does not exist (the application never wrote conversations there). */
  exists: boolean;
  headers: ConversationHeader[];
  unreadable: UnreadableConversation[];
}

/** Reads every *.yaml / *.yml file of the folder. A file that cannot be parsed is listed, never fatal. */
export function readConversationFiles(dir: string): ConversationFiles {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch {
    return { dir, exists: false, headers: [], unreadable: [] };
  }
  const headers: ConversationHeader[] = [];
  const unreadable: UnreadableConversation[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      headers.push(parseConversationHeader(fs.readFileSync(file, 'utf8'), file));
    } catch (error) {
      unreadable.push({ file, error: (error as Error).message.split('\n')[0] });
    }
  }
  return { dir, exists: true, headers, unreadable };
}

/** Parses one header; throws with a one-line reason when it is not a conversation header. */
export function parseConversationHeader(text: string, file: string): ConversationHeader {
  const value = parse(text) as Record<string, unknown> | null;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a YAML mapping');
  const text_ = (key: string): string | null => {
    const v = value[key];
    if (v === undefined || v === null) return null;
    if (v instanceof Date) return v.toISOString();
    return String(v);
  };
  const conversationId = text_('conversation_id') ?? path.basename(file).replace(/\.ya?ml$/i, '');
  const rawCount = value.message_count;
  let messageCount: number | null = null;
  if (rawCount !== undefined && rawCount !== null) {
    messageCount = Number(rawCount);
    if (!Number.isInteger(messageCount) || messageCount < 0) throw new Error(`message_count is not a whole number: ${JSON.stringify(rawCount)}`);
  }
  const locritName = text_('locrit_name');
  return {
    file,
    conversationId,
    locritName,
    locrit: locritName === null ? null : folderName(locritName),
    userId: text_('user_id'),
    sessionId: text_('session_id'),
    createdAt: text_('created_at'),
    lastActivity: text_('last_activity'),
    messageCount,
    status: text_('status'),
    metadata: value.metadata ?? null,
  };
}
