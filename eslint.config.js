// ESLint with typescript-eslint's type-checked rules (`npm run lint`, part of `npm test`). The rules
// that see types are the ones that catch what tsc does not: a promise nobody awaits (an activity
// that "finishes" before its upload does), a promise handed where a callback's result is ignored,
// `any` leaking out of JSON and SDK boundaries into code that trusts it.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // What tools and runs write; never source.
    ignores: ['dist/', 'dist.next/', 'dist.prev/', 'coverage/', '.stack/', '.tools/', '.compose/', '.bench/'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // The project's tsconfig.json, so the rules see the same types tsc checks.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Named although the preset has them: these two are why the type-checked rules are here.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `const { secret: _s, ...rest } = o` is how the code leaves a field out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read what registries, cosign, kubectl and the S3 server wrote (JSON, YAML) and assert its
    // shape with expect(): casting such a document to a type first would assert what the test is
    // there to check. The fakes and stubs implement the async ports without waiting on anything;
    // `async` keeps them returning promises and rejecting, as the real ports do.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The plain JavaScript (bin/, this file) is outside the TypeScript program: lint it without types.
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
