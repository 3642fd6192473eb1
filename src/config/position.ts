// Maps an offset inside a scalar's value back to its place in the YAML source, so template
// errors can point at the offending character rather than the start of the value.

import { type Scalar } from 'yaml';

/**
 * Source offset of character `offset` of the scalar's string value, or undefined when the
 * scalar's layout is not simple enough to map (folded or multi-line flow scalars).
 */
export function scalarSourceOffset(node: Scalar, source: string, offset: number): number | undefined {
  if (!node.range || typeof node.value !== 'string') return undefined;
  const [start, end] = node.range;
  const raw = source.slice(start, end);
  const value = node.value;
  if (offset < 0 || offset > value.length) return undefined;
  switch (node.type) {
    case 'PLAIN':
      return raw.includes('\n') || raw !== value ? undefined : start + offset;
    case 'QUOTE_SINGLE': {
      if (raw.includes('\n')) return undefined;
      let i = 1;
      for (let v = 0; v < offset; v++) i += raw[i] === "'" && raw[i + 1] === "'" ? 2 : 1;
      return start + i;
    }
    case 'QUOTE_DOUBLE': {
      if (raw.includes('\n')) return undefined;
      let i = 1;
      let v = 0;
      while (v < offset && i < raw.length) {
        if (raw[i] !== '\\') {
          i += 1;
          v += 1;
          continue;
        }
        const escape = raw[i + 1];
        const hex = escape === 'x' ? 2 : escape === 'u' ? 4 : escape === 'U' ? 8 : 0;
        if (hex > 0) {
          const codePoint = parseInt(raw.slice(i + 2, i + 2 + hex), 16);
          v += codePoint > 0xffff ? 2 : 1;
          i += 2 + hex;
        } else {
          v += 1;
          i += 2;
        }
      }
      return start + i;
    }
    case 'BLOCK_LITERAL': {
      const headerEnd = raw.indexOf('\n');
      if (headerEnd < 0 || /\d/.test(raw.slice(0, headerEnd).replace(/#.*/, ''))) return undefined;
      const body = raw.slice(headerEnd + 1).split('\n');
      const firstContent = body.find((l) => l.trim().length > 0);
      if (firstContent === undefined) return undefined;
      const indent = firstContent.length - firstContent.trimStart().length;
      const before = value.slice(0, offset).split('\n');
      const lineIndex = before.length - 1;
      const column = before[lineIndex].length;
      if (lineIndex >= body.length) return undefined;
      let pos = start + headerEnd + 1;
      for (let l = 0; l < lineIndex; l++) pos += body[l].length + 1;
      return pos + indent + column;
    }
    default:
      return undefined;
  }
}
