// Errors of a form's fields: the API's 400 messages about one field, put in the form's
// words under that field, and the checks of the app settings' numbers made before a
// form is sent.

import { ApiError } from './api';
import ranges from './setting-ranges.json';

/** Messages by the name of the field the API knows it by ("ios_url", "settings.min_ctit_seconds"). */
export type FieldErrors = Record<string, string>;

/**
 * The field an API error is about, and its message with the form's label in place of the
 * field's name. The API's messages about a field start with its name
 * ("android_url must be an absolute URL ...", "settings.click_lookback_days must be
 * between 1 and 30."), and so do its conflicts about one ("settings.app_store_id 1 belongs
 * to another app."); labels maps the names a form sends to its labels. null when the
 * error is not a 400 or 409 that starts with one of them: show it for the whole form.
 */
export function fieldError(e: unknown, labels: Record<string, string>): { field: string; message: string } | null {
	if (!(e instanceof ApiError) || (e.status !== 400 && e.status !== 409)) return null;
	const names = Object.keys(labels).sort((a, b) => b.length - a.length); // settings.x before x
	for (const name of names) {
		const rest = e.message.slice(name.length);
		if (e.message.startsWith(name) && /^[\s:]/.test(rest)) return { field: name, message: labels[name] + rest };
	}
	return null;
}

/** A numeric app setting: its name in the API's settings object. */
export type NumericSetting = keyof typeof ranges;

/**
 * The range of a numeric app setting, as the server checks it (AppSettings.Validate in
 * the Go package; a Go test in web/ keeps setting-ranges.json equal to it).
 */
export function settingRange(name: NumericSetting): { min: number; max: number } {
	return ranges[name];
}

/**
 * The error of a value typed into a numeric setting's input, in the words of its label,
 * or null when the server would take it: a whole number within the setting's range.
 * value is what a Svelte number input binds: a number, or null when it is empty or not a
 * number.
 */
export function checkSetting(name: NumericSetting, label: string, value: number | null | undefined): string | null {
	const { min, max } = ranges[name];
	if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
		return `${label} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}.`;
	}
	return null;
}

/**
 * The attributes that tie an input to the FieldMessage of id under it while it shows
 * message: spread them on the input ({...ariaError(errors.name, 'name-error')}).
 */
export function ariaError(message: string | null | undefined, id: string): Record<string, string> {
	return message ? { 'aria-invalid': 'true', 'aria-describedby': id } : {};
}
