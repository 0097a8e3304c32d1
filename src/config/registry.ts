/**
 * The Locrit registry of the application's config.yaml (`locrits:`): every Locrit's display
 * name, whether it is active, and which memory service it uses; and the info-level notes about
 * it. No YAML here (parseRegistry.ts reads the section): worker processes import these types
 * through the layout and must not load the parser.
 */
import type { ValueSource } from './sources.js';

/** The application's name for its Kuzu memory; its other services keep nothing in kuzu.db. */
export const KUZU_MEMORY_SERVICE = 'kuzu_graph';

export interface RegisteredLocrit {
  /** The key under locrits.instances: the name the application shows ("Bob Technique"). */
  displayName: string;
  /** `active` as written; null when absent or not true/false. */
  active: boolean | null;
  /** Its memory service (`kuzu_graph` is Kuzu), or null when neither it nor default_settings names one. */
  memoryService: string | null;
  /** Where memoryService came from (its own key or locrits.default_settings.memory_service), or null. */
  memoryServiceSource: ValueSource | null;
  /** Line of its entry in the file. */
  line: number;
}

export interface LocritRegistry {
  file: string;
  /** locrits.default_settings.memory_service, or null. */
  defaultMemoryService: string | null;
  instances: RegisteredLocrit[];
}

/** Things worth knowing about the configuration or the registry; never a warning, never a failure. */
export type ConfigNoteCode =
  | 'memory-disabled'
  | 'kuzu-disabled'
  | 'never-started'
  | 'orphaned'
  | 'other-memory-service'
  | 'shared-folder'
  | 'unexpected-value'
  | 'unknown-application-key';

export interface ConfigNote {
  level: 'info';
  code: ConfigNoteCode;
  /** The Locrit's folder under the data directory, when the note is about one. */
  locrit: string | null;
  /** Its display name in the registry, when it has one. */
  displayName: string | null;
  message: string;
}

export function configNote(code: ConfigNoteCode, message: string, locrit: string | null = null, displayName: string | null = null): ConfigNote {
  return { level: 'info', code, locrit, displayName, message };
}
