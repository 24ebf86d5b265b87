// The one matcher every keyless verifier goes through (source signatures in both formats,
// provenance by identity, the worker's own signatures in the nightly check).
//
// @sigstore/verify treats a policy's subject as a JavaScript regular expression and tests it
// unanchored (`san.match(subject)`): handed `krel-trust@k8s-releng-prod.iam.gserviceaccount.com`,
// it accepts `krel-trust@k8s-releng-prodXiam.gserviceaccount.com.attacker.example`. So:
// - `subject` / `issuer` are compared for equality with the certificate's SAN and Fulcio issuer
//   extension, here, after the library verified chain, timestamps and signature. The library is
//   also given the exact value (the subject escaped and anchored), so either check alone refuses.
// - `subjectRegExp` / `issuerRegExp` run on RE2 (linear time: a pattern cannot stall the worker)
//   and must match the whole value. They must also be written anchored, `^…$`, so that what the
//   reviewer reads is what is enforced.
import { RE2JS } from 're2js';
import type { VerificationPolicy } from '@sigstore/verify';

export interface KeylessIdentity {
  /** Exact OIDC issuer (Fulcio issuer extension). */
  issuer?: string;
  /** RE2 pattern, anchored `^…$`, that the whole issuer must match. */
  issuerRegExp?: string;
  /** Exact certificate SAN (email, URI, ...). */
  subject?: string;
  /** RE2 pattern, anchored `^…$`, that the whole SAN must match. */
  subjectRegExp?: string;
}

/** What a certificate says about its holder. */
interface CertificateIdentity {
  subjectAlternativeName?: string;
  issuer?: string;
}

export type IdentityRule = 'identity-regexp' | 'identity-regexp-anchored' | 'identity-subject' | 'identity-issuer';

export interface PatternProblem {
  rule: 'identity-regexp' | 'identity-regexp-anchored';
  message: string;
}

/** A keyless identity that cannot be enforced as written. */
export class IdentityPolicyError extends Error {
  override readonly name = 'IdentityPolicyError';
  constructor(
    readonly rule: IdentityRule,
    message: string,
  ) {
    super(message);
  }
}

/** Longer patterns are refused: no honest identity pattern needs more. */
const MAX_IDENTITY_PATTERN_LENGTH = 1024;

/**
 * Why `pattern` cannot be used as an identity pattern, or undefined when it can: it must compile
 * on RE2 and be anchored as a whole (`^…$`, no top-level `|` that would leave one side unanchored).
 */
export function checkIdentityPattern(pattern: string): PatternProblem | undefined {
  const compiled = compileIdentityPattern(pattern);
  return 'rule' in compiled ? compiled : undefined;
}

function compileIdentityPattern(pattern: string): RE2JS | PatternProblem {
  if (pattern.length > MAX_IDENTITY_PATTERN_LENGTH) {
    return { rule: 'identity-regexp', message: `is ${pattern.length} characters long; at most ${MAX_IDENTITY_PATTERN_LENGTH} are allowed` };
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return { rule: 'identity-regexp', message: `does not compile on RE2 (the linear-time engine identity patterns run on): ${(err as Error).message}` };
  }
  const unanchored = anchoringProblem(pattern);
  return unanchored ? { rule: 'identity-regexp-anchored', message: unanchored } : re;
}

// A leading flag group such as (?i) may come before the ^.
const LEADING_FLAGS_RE = /^\(\?[imsU-]+\)/;

function anchoringProblem(pattern: string): string | undefined {
  if (!pattern.replace(LEADING_FLAGS_RE, '').startsWith('^') || !endsWithAnchor(pattern)) {
    return (
      `${JSON.stringify(pattern)} is not anchored: write it as ^…$ so it must match the whole value` +
      ' (an unanchored pattern accepts any value that merely contains a match)'
    );
  }
  if (hasTopLevelAlternation(pattern)) {
    return `${JSON.stringify(pattern)} has a top-level |, which leaves each side anchored at one end only: group the alternatives, ^(?:a|b)$`;
  }
  return undefined;
}

/** Ends in a `$` that is not escaped (an odd number of backslashes before it would make it literal). */
function endsWithAnchor(pattern: string): boolean {
  if (!pattern.endsWith('$')) return false;
  let backslashes = 0;
  for (let i = pattern.length - 2; i >= 0 && pattern[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** A `|` outside every group, character class and `\Q…\E` quote (the pattern already compiled). */
function hasTopLevelAlternation(pattern: string): boolean {
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        if (end < 0) return false; // quoted to the end: nothing after it is syntax
        i = end + 1;
      } else {
        i++;
      }
    } else if (c === '[') {
      i = classEnd(pattern, i);
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
    } else if (c === '|' && depth === 0) {
      return true;
    }
  }
  return false;
}

/** Index of the `]` closing the class that opens at `start` (RE2 syntax: `[]a]`, `[^]a]`, `[[:alpha:]]`, escapes). */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a leading ] is literal
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[' && pattern[i + 1] === ':') {
      const end = pattern.indexOf(':]', i + 2);
      if (end >= 0) i = end + 1;
    } else if (c === ']') return i;
  }
  return pattern.length;
}

// Compiled per matcher, not kept at module level: compiling an identity pattern costs well under a
// millisecond, next to the certificate chain every verification checks anyway.
function re2(pattern: string, field: string): RE2JS {
  const compiled = compileIdentityPattern(pattern);
  if ('rule' in compiled) throw new IdentityPolicyError(compiled.rule, `${field} ${compiled.message}`);
  return compiled;
}

const escapeRegExp = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

export interface IdentityMatcher {
  /** How the identity reads in messages. */
  readonly label: string;
  /** What @sigstore/verify checks as well: only exact values, the subject escaped and anchored. */
  readonly libraryPolicy: VerificationPolicy;
  /** Why `signer` is not this identity, or undefined when it is. */
  mismatch(signer: CertificateIdentity): string | undefined;
}

type Check = (value: string | undefined) => boolean;

/**
 * The matcher for one identity: exactly one of subject / subjectRegExp and exactly one of
 * issuer / issuerRegExp, patterns anchored and RE2-compilable. Throws IdentityPolicyError otherwise.
 */
export function identityMatcher(identity: KeylessIdentity): IdentityMatcher {
  const { subject, subjectRegExp, issuer, issuerRegExp } = identity;
  if ((subject === undefined) === (subjectRegExp === undefined)) {
    throw new IdentityPolicyError('identity-subject', 'a keyless identity needs exactly one of subject, subjectRegExp');
  }
  if ((issuer === undefined) === (issuerRegExp === undefined)) {
    throw new IdentityPolicyError('identity-issuer', 'a keyless identity needs exactly one of issuer, issuerRegExp');
  }
  if (subject === '') throw new IdentityPolicyError('identity-subject', 'an exact subject must not be empty');
  if (issuer === '') throw new IdentityPolicyError('identity-issuer', 'an exact issuer must not be empty');
  const subjectOk: Check = subject !== undefined ? (v) => v === subject : matchesWhole(re2(subjectRegExp!, 'subjectRegExp'));
  const issuerOk: Check = issuer !== undefined ? (v) => v === issuer : matchesWhole(re2(issuerRegExp!, 'issuerRegExp'));
  const subjectText = subject ?? `/${subjectRegExp}/`;
  const issuerText = issuer ?? `/${issuerRegExp}/`;
  return {
    label: `${subjectText} (issuer ${issuerText})`,
    libraryPolicy: {
      ...(subject !== undefined ? { subjectAlternativeName: new RegExp(`^${escapeRegExp(subject)}$`) } : {}),
      ...(issuer !== undefined ? { extensions: { issuer } } : {}),
    },
    mismatch(signer) {
      if (!subjectOk(signer.subjectAlternativeName)) {
        return `certificate identity ${signer.subjectAlternativeName ?? '(none)'} is not ${subject !== undefined ? subject : `matched by ${subjectText}`}`;
      }
      if (!issuerOk(signer.issuer)) {
        return `certificate issuer ${signer.issuer ?? '(none)'} is not ${issuer !== undefined ? issuer : `matched by ${issuerText}`}`;
      }
      return undefined;
    },
  };
}

const matchesWhole =
  (re: RE2JS): Check =>
  (v) =>
    v !== undefined && re.testExact(v);

/** Matchers for every identity of a policy; the first identity that cannot be enforced throws. */
export function identityMatchers(identities: readonly KeylessIdentity[]): IdentityMatcher[] {
  return identities.map(identityMatcher);
}
