// A user's locale: a BCP 47 language tag, stored in its canonical spelling ("fr-ca" -> "fr-CA") so that template
// lookups (notification's template-cache.ts) match however the user wrote it.
import type { Validator } from '../platform/validate.js';

const MAX_LOCALE = 35;

/** The canonical tag, '' for none; problems are reported under field. */
export function locale(v: Validator, field: string, value: string): string {
  if (value === '') return '';
  if (value.length <= MAX_LOCALE && /^[A-Za-z0-9-]+$/.test(value)) {
    try {
      return Intl.getCanonicalLocales(value)[0];
    } catch {
      // reported below
    }
  }
  v.add(field, `must be a BCP 47 language tag such as "fr" or "fr-CA" (letters, digits and '-', up to ${MAX_LOCALE} characters)`);
  return '';
}
