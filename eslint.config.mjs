// typescript-eslint's recommended rules (syntax only, no type information: fast enough for
// `npm test` on two cores) plus a few that catch real bugs here. Rules turned off say why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'bench/node_modules/',
      'bench/results/',
      'coverage/',
      '**/*.d.ts',
      'src/admin/static/',
      'sample-app/node_modules/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      // Node's globals the plain-JavaScript files use (TypeScript files are checked by tsc instead).
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        global: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        console: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
      },
    },
    rules: {
      // Values from JSON, Lua replies and Celery's wire form are `any` at the edge and checked where read.
      '@typescript-eslint/no-explicit-any': 'off',
      // `require()` is how autodiscovery and the CLI load an app's modules (CommonJS and ESM alike).
      '@typescript-eslint/no-require-imports': 'off',
      // `Function` is how TypeORM types an entity list and TC39 a decorated method; both are public here.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
);
