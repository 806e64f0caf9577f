/**
 * A refusal's problems reach the API in English and the UI in the customer's language,
 * from one catalog message: checks that the two agree, so no problem is worded by hand.
 */
import assert from 'node:assert/strict';
import { catalogs, inEnglish, translator, type Message } from '../i18n/index.ts';

const hungarian = translator('hu');
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);

/**
 * Each problem's English `message` is its `text` rendered in English, and its Hungarian
 * is a translation with every parameter filled in; returns the problems, for chaining.
 */
export function assertWorded<T extends { text: Message; message: string }>(problems: T[]): T[] {
  for (const problem of problems) {
    const where = `${problem.text.key}: ${problem.message}`;
    assert.equal(inEnglish(problem.text), problem.message, `the English message is the catalog's (${where})`);
    const translated = hungarian(problem.text.key, problem.text.params);
    assert.notEqual(translated, problem.message, `it has a Hungarian wording (${where})`);
    const unfilled = placeholders(catalogs.hu[problem.text.key]).filter((name) => !Object.hasOwn(problem.text.params ?? {}, name));
    assert.deepEqual(unfilled, [], `every parameter is filled in (${where})`);
  }
  return problems;
}
