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
import { policyError } from './checks.ts';

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
    throw fileRefusal([`is ${bytes} bytes; a compose file may be at most ${COMPOSE_MAX_BYTES / 1024} KiB`]);
  }
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const refusals = ambiguousCharacters(body);
  if (refusals.length > 0) throw fileRefusal(refusals);

  const doc = parseDocument(body, { merge: true, uniqueKeys: true, prettyErrors: false });
  const [error] = doc.errors;
  if (error) throw new AppError('validation', `the compose file is not valid YAML: ${firstLine(error.message)}`, { cause: error });
  const shape = shapeRefusals(doc, body);
  if (shape.length > 0) throw fileRefusal(shape);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    throw fileRefusal([`expands its anchors too far (${firstLine((cause as Error).message)}); aliases may repeat a block, not multiply it`]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AppError('validation', 'the compose file must be a YAML mapping with a "services" key');
  }
  // `version` is obsolete to compose v2 and a switch to v1: a mapping there turns on the
  // legacy format, where every top-level key is a service. Neither version needs it.
  delete (data as Record<string, unknown>).version;
  const rendered = renderCanonical(data, CANONICAL_MAX_BYTES);
  if ('overflow' in rendered) {
    throw fileRefusal([`grows past ${CANONICAL_MAX_BYTES / 1024} KiB once its anchors are expanded; aliases may repeat a block, not multiply it`]);
  }
  if (rendered.refusals.length > 0) throw fileRefusal([...new Set(rendered.refusals)]);
  return { document: data as ComposeDocument, canonical: rendered.text };
}

/**
 * Characters YAML parsers read differently, or that have no business in a compose file:
 * a carriage return not followed by a line feed (a line break to PyYAML and go-yaml, not
 * inside a comment to us), U+0085, U+2028 and U+2029 (line breaks in YAML 1.1), other
 * control characters, a byte-order mark past the start, and unpaired surrogates.
 */
const AMBIGUOUS = /\r(?!\n)|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function ambiguousCharacters(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(AMBIGUOUS)) {
    const { line, column } = position(text, match.index);
    found.push(`${describeCharacter(match[0])} at line ${line}, column ${column}: YAML parsers disagree on such characters, so compose could read another file than the one checked; save the file as plain UTF-8 text with LF or CRLF line endings`);
    if (found.length === 5) break;
  }
  return found;
}

function describeCharacter(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (char === '\r') return 'a carriage return without a line feed (a bare CR)';
  if (code === 0x85) return 'a next-line character (U+0085, NEL)';
  if (code === 0x2028 || code === 0x2029) return `a Unicode line or paragraph separator (${hex})`;
  if (code === 0xfeff) return 'a byte-order mark (U+FEFF) past the start of the file';
  if (code >= 0xd800 && code <= 0xdfff) return `an unpaired surrogate (${hex})`;
  return `the control character ${hex}`;
}

/** Explicit tags and keys that are not plain scalars: where parsers part ways. */
function shapeRefusals(doc: ReturnType<typeof parseDocument>, text: string): string[] {
  const where = (range: readonly number[] | null | undefined) => {
    if (!range) return '';
    const { line, column } = position(text, range[0] ?? 0);
    return ` at line ${line}, column ${column}`;
  };
  const refusals: string[] = [];
  visit(doc, {
    Node(_key, node) {
      // Only a tag written in the file is set on the node; resolved plain scalars have none.
      if ((isScalar(node) || isCollection(node)) && node.tag !== undefined) {
        refusals.push(`the explicit tag ${node.tag}${where(node.range)}: compose versions read tagged values differently (!!binary, !reset, !override…); write the plain value`);
      } else if (isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string' && isAmbiguousPlain(node.source)) {
        refusals.push(`the plain value ${node.source}${where(node.range)}, which YAML 1.1 (compose v1, and go-yaml for numbers) and YAML 1.2 read as different values (0440 is 288 or 440, yes a boolean or a word); quote it if it is text, or write a number in plain decimal`);
      }
    },
    Pair(_key, pair) {
      const key = pair.key;
      if (isScalar(key) && key.value === '<<' && key.type !== 'PLAIN') {
        refusals.push(`a quoted "<<" key${where(key.range)}, which some parsers take for a merge key and others for a plain key`);
      } else if (key !== null && !isScalar(key) && !isAlias(key)) {
        refusals.push(`a key that is a list or a mapping${where(isCollection(key) ? key.range : null)}; compose keys are plain names`);
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
function renderCanonical(value: unknown, budget: number): { text: string; refusals: string[] } | { overflow: true } {
  const parts: string[] = [];
  const refusals: string[] = [];
  let size = 0;
  const emit = (part: string) => {
    size += Buffer.byteLength(part);
    if (size > budget) throw OVERFLOW;
    parts.push(part);
  };
  const walk = (item: unknown, depth: number): void => {
    if (depth > MAX_DEPTH) {
      refusals.push(`nests deeper than ${MAX_DEPTH} levels`);
      return emit('null');
    }
    if (item === null || item === undefined) return emit('null');
    if (typeof item === 'string') return emit(quote(item));
    if (typeof item === 'boolean') return emit(String(item));
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) refusals.push(`has the number ${String(item)}, which compose versions read differently; write it as a string or a finite number`);
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
        if (key === '<<') refusals.push('has a "<<" key that is not a merge of mappings');
        emit(`${i > 0 ? ', ' : ''}${quote(key)}: `);
        walk(element, depth + 1);
      });
      return emit('}');
    }
    refusals.push(`has a value of a kind compose does not read (${Object.prototype.toString.call(item)})`);
    emit('null');
  };
  try {
    walk(value, 0);
  } catch (error) {
    if (error === OVERFLOW) return { overflow: true };
    throw error;
  }
  return { text: parts.join(''), refusals };
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
function fileRefusal(messages: string[]): AppError {
  return policyError(messages.map((message) => ({ service: null, key: 'compose file', message })));
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
