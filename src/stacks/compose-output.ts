/**
 * Reading what `compose config` prints. Compose v1 prints YAML 1.1 (PyYAML), v2 YAML
 * 1.2-compatible (go-yaml), and they disagree with a YAML 1.2 reader about plain
 * scalars: to PyYAML `1e3`, `09` and `0o7` are strings, which it prints unquoted, while
 * a 1.2 reader takes them for numbers. As keys that is fatal: the services `1e3` and
 * `1000` would become one, and the one the policy judged would not be the one compose
 * runs. So every mapping key is read as the text compose printed, never resolved, and a
 * key printed twice is refused. Values keep their YAML 1.2 reading: where the policy
 * expects text and finds a number, the model refuses to read it (fail closed).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { AppError } from '../errors.ts';

const MAX_DEPTH = 64;

export function parseComposeOutput(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: false, merge: false });
  const [error] = doc.errors;
  if (error) throw unreadable(error.message.split('\n')[0] ?? error.message);
  return toData(doc, doc.contents as Node | null, 0);
}

function toData(doc: Document, node: Node | null, depth: number): unknown {
  if (depth > MAX_DEPTH) throw unreadable(`it nests deeper than ${MAX_DEPTH} levels`);
  if (node === null) return null;
  if (isAlias(node)) return toData(doc, node.resolve(doc) as Node | null, depth + 1);
  if (isScalar(node)) return node.toJS(doc);
  if (isSeq(node)) return node.items.map((item) => toData(doc, item as Node | null, depth + 1));
  if (isMap(node)) {
    const data: Record<string, unknown> = {};
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) throw unreadable('a key is not a plain name');
      const key = String(pair.key.source ?? pair.key.value);
      if (Object.hasOwn(data, key)) throw unreadable(`the key "${key}" appears twice`);
      Object.defineProperty(data, key, { value: toData(doc, pair.value as Node | null, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return data;
  }
  throw unreadable('it holds a node of an unknown kind');
}

function unreadable(why: string): AppError {
  return new AppError('validation', { key: 'error.compose_output_ambiguous', params: { why } });
}
