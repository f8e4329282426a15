// Type-aware lint over the TypeScript tree: typescript-eslint's strictTypeChecked, with the few
// options below chosen on purpose (each says why; README.md "Contributing: lint and format" lists them).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Generated (npm run generate:client), as in .prettierignore; client-py is Python (flake8, mypy).
    ignores: [
      'dist/**',
      'node_modules/**',
      'client-py/**',
      'soapui/**',
      'client-ts/generated/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    // Every eslint-disable names its rule and says why; one that no longer matches anything is an error.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules that catch real bugs in an asynchronous codebase, named here although
      // strictTypeChecked has them: a promise nobody awaits, a promise where a callback is expected.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // A `default:` that throws is exhaustive enough for a union (it fails loudly on a new member).
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Numbers in template literals are safe and everywhere in log and fault text; the rest stays
      // refused (an undefined, null, object or boolean goes through String() on purpose).
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allowNumber: true,
          allowAny: false,
          allowBoolean: false,
          allowNullish: false,
          allowNever: false,
          allowRegExp: false,
        },
      ],
      // `req.on('end', () => settle(x))` where a void callback is expected is the Node idiom; a void
      // value used as a value (assigned, returned from a non-void function) is still an error.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreVoidReturningFunctions: true }],
      // `const { status: _status, ...rest } = recorded` is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // In tests a missing value fails the test anyway (a TypeError on the next line, which mocha
    // reports with its stack), so `rows[0]!` there needs no check of its own. Elsewhere a `!` is
    // written defined(value, what) or itemAt(items, i) (common/defined.ts).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
