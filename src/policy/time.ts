/**
 * The application stores local wall-clock time without a zone; Kuzu hands such a TIMESTAMP
 * back as a Date whose UTC fields are the wall-clock fields. These helpers convert between
 * real instants and that representation, in the zone of this process (TZ).
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** "2025-09-13 14:29:07.098000" in local time: the form Kuzu parses as a TIMESTAMP. */
export function formatWallClock(instant: Date): string {
  return (
    `${instant.getFullYear()}-${pad(instant.getMonth() + 1)}-${pad(instant.getDate())} ` +
    `${pad(instant.getHours())}:${pad(instant.getMinutes())}:${pad(instant.getSeconds())}.${pad(instant.getMilliseconds(), 3)}000`
  );
}

/** "20250913_142907": the date and time part of the application's message ids. */
export function wallClockId(instant: Date): string {
  return `${instant.getFullYear()}${pad(instant.getMonth() + 1)}${pad(instant.getDate())}_${pad(instant.getHours())}${pad(instant.getMinutes())}${pad(instant.getSeconds())}`;
}

/** A Date read from Kuzu (wall-clock in UTC fields) -> the real instant, taking it as local time. */
export function wallClockToInstant(stored: Date): Date {
  return new Date(
    stored.getUTCFullYear(), stored.getUTCMonth(), stored.getUTCDate(),
    stored.getUTCHours(), stored.getUTCMinutes(), stored.getUTCSeconds(), stored.getUTCMilliseconds(),
  );
}

/** A real instant -> the Date to pass to Kuzu so that it compares with stored wall-clock times. */
export function instantToWallClock(instant: Date): Date {
  return new Date(Date.UTC(
    instant.getFullYear(), instant.getMonth(), instant.getDate(),
    instant.getHours(), instant.getMinutes(), instant.getSeconds(), instant.getMilliseconds(),
  ));
}

/** Whole seconds from `then` to `now` (never negative for past times). */
export function ageSeconds(then: Date, now: Date): number {
  return Math.round((now.getTime() - then.getTime()) / 1000);
}
