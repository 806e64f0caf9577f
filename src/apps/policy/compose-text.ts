/**
 * The compose file as compose will read it. The policy is only as good as its reading
 * of the file: if the controller's YAML parser and compose's (PyYAML in v1, go-yaml in
 * v2) disagree about one byte, an app can show the check one document and compose
 * another. They do disagree: a bare carriage return or U+0085 inside a comment ends the
 * comment for compose but not for us; `!!binary` is a string to go-yaml and bytes to
 * us; merge-key order and YAML 1.1 scalars differ too.
 *
 * So the check and compose never read the same text twice. The text is parsed here,
 * strictly, once; characters on which parsers disagree and explicit tags are refused;
 * and what compose then reads is this module's canonical rendering of what was parsed:
 * flow-style JSON with every string double-quoted, no comments, anchors, aliases, merge
 * keys or tags. JSON is YAML to both compose versions, and there is nothing left in it to
 * read differently. Expanding aliases is bounded, so a "billion laughs" file fails here,
 * not in compose.
 */
import { isAlias, isCollection, isScalar, parseDocument, visit } from 'yaml';
import { AppError } from '../../errors.ts';
import { inEnglish, type Message } from '../../i18n/index.ts';
import { policyError, violation } from './checks.ts';

/** The most a compose file may hold as written (real ones are a few KiB). */
export const COMPOSE_MAX_BYTES = 256 * 1024;
/** The most it may hold once anchors are expanded: aliases may repeat, not explode. */
export const CANONICAL_MAX_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 1000;
const MAX_DEPTH = 64;

export type ComposeDocument = Record<string, unknown>;

export interface ComposeText {
  /** What the checks read: plain data, merge keys applied. */
  document: ComposeDocument;
  /** The file compose reads: the same data rendered so every YAML parser agrees on it. */
  canonical: string;
}

/**
 * Reads a compose file's text. Problems with what the text *is* (characters, tags,
 * size) come back as policy violations, all at once; text that is not YAML at all is
 * a validation error.
 */
export function readComposeText(text: string): ComposeText {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > COMPOSE_MAX_BYTES) {
    throw fileRefusal([{ key: 'policy.compose_too_large', params: { bytes, max: COMPOSE_MAX_BYTES / 1024 } }]);
  }
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const refusals = ambiguousCharacters(body);
  if (refusals.length > 0) throw fileRefusal(refusals);

  const doc = parseDocument(body, { merge: true, uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) throw new AppError('validation', { key: 'policy.compose_not_yaml', params: { reason: firstLine(error.message) } }, { cause: error });
  const shape = shapeRefusals(doc, body);
  if (shape.length > 0) throw fileRefusal(shape);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    throw fileRefusal([{ key: 'policy.anchors_too_many', params: { reason: firstLine((cause as Error).message) } }]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AppError('validation', { key: 'policy.compose_not_mapping' });
  }
  // `version` is obsolete to compose v2 and a switch to v1: a mapping there turns on the
  // legacy format, where every top-level key is a service. Neither version needs it.
  delete (data as Record<string, unknown>).version;
  const rendered = renderCanonical(data, CANONICAL_MAX_BYTES);
  if ('overflow' in rendered) {
    throw fileRefusal([{ key: 'policy.anchors_too_large', params: { max: CANONICAL_MAX_BYTES / 1024 } }]);
  }
  if (rendered.refusals.length > 0) throw fileRefusal(rendered.refusals);
  return { document: data as ComposeDocument, canonical: rendered.text };
}

/**
 * Characters YAML parsers read differently, or that have no business in a compose file:
 * a carriage return not followed by a line feed (a line break to PyYAML and go-yaml, not
 * inside a comment to us), U+0085, U+2028 and U+2029 (line breaks in YAML 1.1), other
 * control characters, a byte-order mark past the start, and unpaired surrogates.
 */
const AMBIGUOUS = /\r(?!\n)|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function ambiguousCharacters(text: string): Message[] {
  const found: Message[] = [];
  for (const match of text.matchAll(AMBIGUOUS)) {
    const { line, column } = position(text, match.index);
    found.push({ key: 'policy.ambiguous_character', params: { character: describeCharacter(match[0]), line, column } });
    if (found.length === 5) break;
  }
  return found;
}

function describeCharacter(char: string): Message {
  const code = char.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (char === '\r') return { key: 'policy.character_bare_cr' };
  if (code === 0x85) return { key: 'policy.character_nel' };
  if (code === 0x2028 || code === 0x2029) return { key: 'policy.character_separator', params: { code: hex } };
  if (code === 0xfeff) return { key: 'policy.character_bom' };
  if (code >= 0xd800 && code <= 0xdfff) return { key: 'policy.character_surrogate', params: { code: hex } };
  return { key: 'policy.character_control', params: { code: hex } };
}

/** Explicit tags and keys that are not plain scalars: where parsers part ways. */
function shapeRefusals(doc: ReturnType<typeof parseDocument>, text: string): Message[] {
  const where = (range: readonly number[] | null | undefined): Message | '' => {
    if (!range) return '';
    const { line, column } = position(text, range[0] ?? 0);
    return { key: 'policy.at_position', params: { line, column } };
  };
  const refusals: Message[] = [];
  visit(doc, {
    Node(_key, node) {
      // Only a tag written in the file is set on the node; resolved plain scalars have none.
      if ((isScalar(node) || isCollection(node)) && node.tag !== undefined) {
        refusals.push({ key: 'policy.explicit_tag', params: { tag: node.tag, where: where(node.range) } });
      } else if (isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string' && isAmbiguousPlain(node.source)) {
        refusals.push({ key: 'policy.ambiguous_plain', params: { value: node.source, where: where(node.range) } });
      }
    },
    Pair(_key, pair) {
      const key = pair.key;
      if (isScalar(key) && key.value === '<<' && key.type !== 'PLAIN') {
        refusals.push({ key: 'policy.quoted_merge_key', params: { where: where(key.range) } });
      } else if (key !== null && !isScalar(key) && !isAlias(key)) {
        refusals.push({ key: 'policy.complex_key', params: { where: where(isCollection(key) ? key.range : null) } });
      }
    },
  });
  return refusals.slice(0, 5);
}

/** The canonical rendering of data the controller writes itself (the override file). */
export function canonicalText(value: unknown): string {
  const rendered = renderCanonical(value, Infinity);
  if ('overflow' in rendered || rendered.refusals.length > 0) throw new AppError('internal', 'cannot render a compose file the controller wrote');
  return rendered.text;
}

/**
 * Renders parsed data as flow JSON whose strings every YAML parser reads back unchanged,
 * stopping as soon as it passes `budget` bytes: a thousand aliases of a 250 KB anchor
 * must not build a 250 MB string before it is refused.
 */
function renderCanonical(value: unknown, budget: number): { text: string; refusals: Message[] } | { overflow: true } {
  const parts: string[] = [];
  // Keyed by the English text: one refusal per problem, however often the file repeats it.
  const refusals = new Map<string, Message>();
  const refuse = (message: Message) => refusals.set(inEnglish(message), message);
  let size = 0;
  const emit = (part: string) => {
    size += Buffer.byteLength(part);
    if (size > budget) throw OVERFLOW;
    parts.push(part);
  };
  const walk = (item: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) {
      refuse({ key: 'policy.nests_too_deep', params: { max: MAX_DEPTH } });
      return emit('null');
    }
    if (item === null || item === undefined) return emit('null');
    if (typeof item === 'string') return emit(quote(item));
    if (typeof item === 'boolean') return emit(String(item));
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) refuse({ key: 'policy.number_not_finite', params: { number: String(item) } });
      return emit(Number.isFinite(item) ? String(item) : 'null');
    }
    if (Array.isArray(item)) {
      emit('[');
      item.forEach((element, i) => {
        if (i > 0) emit(', ');
        walk(element, depth + 1);
      });
      return emit(']');
    }
    if (typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype) {
      emit('{');
      Object.entries(item as Record<string, unknown>).forEach(([key, element], i) => {
        if (key === '<<') refuse({ key: 'policy.merge_key_not_mapping' });
        emit(`${i > 0 ? ', ' : ''}${quote(key)}: `);
        walk(element, depth + 1);
      });
      return emit('}');
    }
    refuse({ key: 'policy.value_unreadable', params: { kind: Object.prototype.toString.call(item) } });
    emit('null');
  };
  try {
    walk(value, 0);
  } catch (error) {
    if (error === OVERFLOW) return { overflow: true };
    throw error;
  }
  return { text: parts.join(''), refusals: [...refusals.values()] };
}

const OVERFLOW = Symbol('overflow');

/**
 * A YAML double-quoted string that PyYAML and go-yaml both read back as `value`: JSON's
 * escapes, plus the characters YAML 1.1 would treat as line breaks or refuse raw.
 */
function quote(value: string): string {
  return JSON.stringify(value).replace(/[\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One policy error, each problem under the key "compose file", so a plan lists them like any other. */
function fileRefusal(problems: Message[]): AppError {
  return policyError(problems.map((problem) => violation(null, 'compose file', problem)));
}

/**
 * Plain scalars whose value depends on the YAML version reading them: 1.1 booleans
 * (`yes`, `off`), numbers with a leading zero (octal to PyYAML and go-yaml), `0o` and `0b`
 * forms, base-60 numbers, underscores in numbers, exponents 1.1 does not know, dates,
 * and integers past 2^53, which a JavaScript number would round.
 */
function isAmbiguousPlain(text: string): boolean {
  if (/^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/.test(text)) return true;
  if (/^[-+]?(0[0-9_]+|0o[0-7_]+|0b[01_]+)$/.test(text)) return true;
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(text)) return true;
  if (/^[-+]?[0-9][0-9._]*$/.test(text) && text.includes('_')) return true;
  if (/^[-+]?[0-9.]+[eE][0-9]+$/.test(text) || /^[-+]?[0-9]+[eE][-+]?[0-9]+$/.test(text)) return true;
  if (/^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]|$)/.test(text)) return true;
  return /^[-+]?[0-9]+$/.test(text) && !Number.isSafeInteger(Number(text));
}

function position(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  const line = before.split(/\r\n|\n/).length;
  return { line, column: index - Math.max(before.lastIndexOf('\n'), -1) };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
