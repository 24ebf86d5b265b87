// The keyless identity matcher every verifier goes through: exact subject and issuer, anchored RE2
// patterns that must match the whole value, and the patterns refused before any use.
import { describe, expect, it } from 'vitest';
import { IdentityPolicyError, checkIdentityPattern, identityMatcher } from '../../../lib/signing';

const REAL = 'krel-trust@k8s-releng-prod.iam.gserviceaccount.com';
const LOOKALIKE = 'krel-trust@k8s-releng-prodXiam.gserviceaccount.com.attacker.example';
const GOOGLE = 'https://accounts.google.com';

const matches = (identity: Parameters<typeof identityMatcher>[0], san: string, issuer = GOOGLE) =>
  identityMatcher(identity).mismatch({ subjectAlternativeName: san, issuer }) === undefined;

describe('identity patterns', () => {
  it.each([
    '^krel-staging@.*\\.iam\\.gserviceaccount\\.com$',
    '^(?:krel-staging|krel-trust)@k8s-releng-prod\\.iam\\.gserviceaccount\\.com$',
    '^https://github\\.com/kubernetes/release/\\.github/workflows/[a-z-]+\\.yaml@refs/tags/v[0-9.]+$',
    '^a[|]b$',
    '^a\\|b$',
    '^\\Qa|b\\E$',
    '^[]|]x$',
    '^[[:alpha:]|]+$',
    '^a\\\\$',
    '(?i)^krel-trust@k8s-releng-prod\\.iam\\.gserviceaccount\\.com$',
  ])('accepts %s', (pattern) => {
    expect(checkIdentityPattern(pattern)).toBeUndefined();
  });

  it.each([
    [REAL, 'identity-regexp-anchored'],
    [`^${REAL}`, 'identity-regexp-anchored'],
    [`${REAL}$`, 'identity-regexp-anchored'],
    ['^krel@x\\.com\\$', 'identity-regexp-anchored'],
    ['^krel@x\\.com$|evil', 'identity-regexp-anchored'],
    ['^a@x\\.com|b@x\\.com$', 'identity-regexp-anchored'],
    ['^(?=krel)krel@x\\.com$', 'identity-regexp'],
    ['^(a)\\1$', 'identity-regexp'],
    ['^(unclosed$', 'identity-regexp'],
    [`^${'a'.repeat(1100)}$`, 'identity-regexp'],
  ])('refuses %s (%s)', (pattern, rule) => {
    const problem = checkIdentityPattern(pattern);
    expect(problem?.rule).toBe(rule);
    expect(problem?.message.length).toBeGreaterThan(10);
  });
});

describe('identityMatcher', () => {
  it('an exact subject is equality: a lookalike, a longer name or another case does not match', () => {
    const exact = { issuer: GOOGLE, subject: REAL };
    expect(matches(exact, REAL)).toBe(true);
    expect(matches(exact, LOOKALIKE)).toBe(false);
    expect(matches(exact, `${REAL}.attacker.example`)).toBe(false);
    expect(matches(exact, `x${REAL}`)).toBe(false);
    expect(matches(exact, REAL.toUpperCase())).toBe(false);
    expect(identityMatcher(exact).mismatch({ subjectAlternativeName: LOOKALIKE, issuer: GOOGLE })).toContain(LOOKALIKE);
  });

  it('hands @sigstore/verify only exact values, the subject escaped and anchored', () => {
    const policy = identityMatcher({ issuer: GOOGLE, subject: REAL }).libraryPolicy;
    expect(policy.extensions).toEqual({ issuer: GOOGLE });
    const san = policy.subjectAlternativeName as RegExp;
    expect(san).toBeInstanceOf(RegExp);
    expect(REAL.match(san)).not.toBeNull();
    expect(LOOKALIKE.match(san)).toBeNull();
    expect(identityMatcher({ issuerRegExp: '^https://accounts\\.google\\.com$', subjectRegExp: '^krel-.*$' }).libraryPolicy).toEqual({});
  });

  it('an exact issuer is equality; a pattern issuer must match the whole issuer', () => {
    expect(matches({ issuer: GOOGLE, subject: REAL }, REAL, `${GOOGLE}.attacker.example`)).toBe(false);
    expect(identityMatcher({ issuer: GOOGLE, subject: REAL }).mismatch({ subjectAlternativeName: REAL })).toMatch(/issuer \(none\)/);
    const pattern = { issuerRegExp: '^https://token\\.actions\\.githubusercontent\\.com$', subject: REAL };
    expect(matches(pattern, REAL, 'https://token.actions.githubusercontent.com')).toBe(true);
    expect(matches(pattern, REAL, 'https://token.actions.githubusercontent.com.attacker.example')).toBe(false);
  });

  it('a subject pattern must match the whole SAN, whatever flags or line breaks it plays with', () => {
    const pattern = { issuer: GOOGLE, subjectRegExp: '^krel-[a-z]+@k8s-releng-prod\\.iam\\.gserviceaccount\\.com$' };
    expect(matches(pattern, REAL)).toBe(true);
    expect(matches(pattern, LOOKALIKE)).toBe(false);
    expect(matches(pattern, `${REAL}\nevil`)).toBe(false);
    expect(matches({ issuer: GOOGLE, subjectRegExp: '(?m)^krel@x\\.com$' }, 'krel@x.com\nattacker@evil.example')).toBe(false);
    // Grouped alternatives are anchored as a whole.
    const either = { issuer: GOOGLE, subjectRegExp: '^(?:a|b)@x\\.com$' };
    expect(matches(either, 'b@x.com')).toBe(true);
    expect(matches(either, 'a@x.com.evil')).toBe(false);
  });

  it('runs patterns in linear time: a catastrophic pattern for a backtracking engine answers at once', () => {
    // A backtracking engine takes about 2^n steps for this; RE2 one pass.
    const evil = { issuer: GOOGLE, subjectRegExp: '^(a+)+$' };
    expect(matches(evil, `${'a'.repeat(100_000)}!`)).toBe(false);
    expect(matches(evil, 'a'.repeat(100_000))).toBe(true);
  });

  it('refuses identities it cannot enforce, naming the rule', () => {
    const refused = (identity: Parameters<typeof identityMatcher>[0]) => {
      try {
        identityMatcher(identity);
      } catch (err) {
        expect(err).toBeInstanceOf(IdentityPolicyError);
        return (err as IdentityPolicyError).rule;
      }
      return undefined;
    };
    expect(refused({ issuer: GOOGLE, subjectRegExp: REAL })).toBe('identity-regexp-anchored');
    expect(refused({ issuer: GOOGLE, subjectRegExp: '^(?!x)y$' })).toBe('identity-regexp');
    expect(refused({ issuerRegExp: 'accounts\\.google\\.com', subject: REAL })).toBe('identity-regexp-anchored');
    expect(refused({ issuer: GOOGLE })).toBe('identity-subject');
    expect(refused({ issuer: GOOGLE, subject: REAL, subjectRegExp: '^x$' })).toBe('identity-subject');
    expect(refused({ subject: REAL })).toBe('identity-issuer');
    expect(refused({ issuer: '', subject: REAL })).toBe('identity-issuer');
  });
});
