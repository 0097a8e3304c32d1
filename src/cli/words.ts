/** Words that agree with their numbers. Loaded by --help paths: no dependencies. */

/** Thousands separators: 1,500. */
function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** `1 message`, `2 messages`, `1,500 messages`: the noun agrees with the count. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return n === 1 ? singular : pluralForm;
}

/** A count with its noun: `1 message`, `1,500 messages`. */
export function counted(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count(n)} ${plural(n, singular, pluralForm)}`;
}
