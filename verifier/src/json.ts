// A strict JSON (RFC 8259) parser for the JSON formats provlog verifies
// (evidence bundles): unlike JSON.parse it rejects duplicate object keys
// and unpaired surrogate escapes, which would otherwise be silently
// resolved one way here and another way elsewhere.

import { fail } from './errors.js';

export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };

/**
 * Parses JSON strictly. With `bigInts`, integer literals become bigints
 * (exact for the u64 indexes and sizes of the API).
 */
export function parseJsonStrict(text: string, check: 'evidence' | 'lookup' = 'evidence', opts: { maxDepth?: number; bigInts?: boolean } = {}): Json {
  const maxDepth = opts.maxDepth ?? 16;
  let p = 0;
  function err(m: string): never {
    return fail(check, `JSON at offset ${p}: ${m}`);
  }
  const ws = (): void => {
    while (p < text.length && ' \t\n\r'.includes(text[p]!)) p++;
  };
  const str = (): string => {
    // at opening quote
    p++;
    let out = '';
    for (;;) {
      if (p >= text.length) err('unterminated string');
      const c = text.charCodeAt(p);
      if (c === 0x22) {
        p++;
        break;
      }
      if (c < 0x20) err('control character in string');
      if (c === 0x5c) {
        const e = text[p + 1];
        p += 2;
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(p, p + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) err('bad \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            p += 4;
            break;
          }
          default:
            err('bad escape');
        }
        continue;
      }
      out += text[p];
      p++;
    }
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(out)) err('unpaired surrogate in string');
    return out;
  };
  const value = (depth: number): Json => {
    ws();
    if (p >= text.length) err('unexpected end');
    const c = text[p]!;
    if (c === '{') {
      if (depth >= maxDepth) err('nested too deeply');
      p++;
      const obj: { [k: string]: Json } = Object.create(null);
      ws();
      if (text[p] === '}') {
        p++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[p] !== '"') err('expected a key');
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k)) err(`duplicate key "${k}"`);
        ws();
        if (text[p] !== ':') err('expected ":"');
        p++;
        obj[k] = value(depth + 1);
        ws();
        if (text[p] === ',') {
          p++;
          continue;
        }
        if (text[p] === '}') {
          p++;
          return obj;
        }
        err('expected "," or "}"');
      }
    }
    if (c === '[') {
      if (depth >= maxDepth) err('nested too deeply');
      p++;
      const arr: Json[] = [];
      ws();
      if (text[p] === ']') {
        p++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[p] === ',') {
          p++;
          continue;
        }
        if (text[p] === ']') {
          p++;
          return arr;
        }
        err('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/.exec(text.slice(p, p + 400));
    if (!m) err('unexpected character');
    p += m[0].length;
    if (m[0] === 'true') return true;
    if (m[0] === 'false') return false;
    if (m[0] === 'null') return null;
    if (opts.bigInts && /^-?[0-9]+$/.test(m[0])) return BigInt(m[0]);
    return Number(m[0]);
  };
  const v = value(0);
  ws();
  if (p !== text.length) err('trailing characters');
  return v;
}
