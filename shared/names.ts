import { EdgetuneError } from './errors.ts';

/** Model names and version ids become storage keys and URL segments, so they are tightly bounded. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function assertName(kind: 'model' | 'version' | 'label' | 'job', value: unknown): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new EdgetuneError(
      'invalid_name',
      `invalid ${kind} name ${shown}: use 1-64 characters from a-z, 0-9, '-' and '_', starting with a letter or digit`,
    );
  }
  return value;
}

export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}
