// Parsers for the HTTP headers the registry protocol leans on.

export interface Challenge {
  /** Lower-cased scheme: "basic", "bearer", ... */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate value into its challenges (RFC 9110 section 11.6.1):
 * `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull,push"`.
 * Commas separate both parameters and challenges, so a bare token not followed
 * by "=" starts the next challenge. Quoted values may contain commas and escapes.
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (chars: RegExp) => {
    while (i < n && chars.test(header[i]!)) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z/]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skip(/[\s,]/);
    if (i >= n) break;
    const word = readToken();
    if (!word) {
      i++; // unexpected character: skip it rather than loop forever
      continue;
    }
    const save = i;
    skip(/\s/);
    if (current && header[i] === '=') {
      i++;
      skip(/\s/);
      let value: string;
      if (header[i] === '"') {
        i++;
        let v = '';
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          v += header[i];
          i++;
        }
        i++; // closing quote
        value = v;
      } else {
        const start = i;
        while (i < n && header[i] !== ',' && !/\s/.test(header[i]!)) i++;
        value = header.slice(start, i);
      }
      current.params[word.toLowerCase()] = value;
    } else {
      i = save;
      // token68 credentials (e.g. "Negotiate abc==") are skipped: we only need parameters.
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      skip(/\s/);
      const t68 = /^[A-Za-z0-9\-._~+/]+=*(?=\s*(,|$))/.exec(header.slice(i));
      if (
        t68 &&
        !header
          .slice(i + t68[0].length)
          .trimStart()
          .startsWith('=') &&
        t68[0].endsWith('=')
      )
        i += t68[0].length;
    }
  }
  return out;
}

/** The URL of the `rel="next"` entry in a Link header, resolved against `base`. */
export function parseNextLink(header: string | null | undefined, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of splitLinks(header)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (!m) continue;
    const rels = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(m[2]!);
    if (rels && rels[1]!.split(/\s+/).includes('next')) return new URL(m[1]!, base).toString();
  }
  return undefined;
}

function splitLinks(header: string): string[] {
  // Commas may appear inside <...>, so split only outside angle brackets.
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(header.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(header.slice(start));
  return parts;
}
