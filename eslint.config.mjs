// ESLint flat config: ESLint's and typescript-eslint's recommended sets (type-checked), a few size and
// complexity limits, and eslint-config-prettier last so that layout is left to Prettier alone.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const testFiles = ['test/**/*.ts', 'memberlist-ts/test/**/*.ts'];

export default tseslint.config(
  {
    ignores: ['**/dist/', '**/generated/', '**/node_modules/', 'build/', '.bench-out/'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An async method without await is how an interface implementation (a transport, a test fake)
      // returns a promise and turns a throw into a rejection; requiring an await would add noise.
      '@typescript-eslint/require-await': 'off',
      // The compiler's noUnusedLocals/noUnusedParameters accept a leading underscore; so does this.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },
  {
    rules: {
      // 'modified' counts a switch once: a flat switch over message types is a table, not a tangle.
      complexity: ['error', { max: 20, variant: 'modified' }],
      'max-depth': ['error', 4],
      'max-params': ['error', 6],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      // Counted after Prettier has wrapped lines at 120 columns.
      'max-lines-per-function': ['error', { max: 90, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['memberlist-ts/src/memberlist.ts'],
    rules: {
      // The Memberlist class is memberlist's state machine (probe, gossip, push/pull, message
      // handling) over one set of private fields; splitting it would only expose those fields.
      'max-lines': ['error', { max: 750, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['node-agent/netlink/socket.ts'],
    rules: {
      // One socket's request window, batching, dumps and deadlines share their state; the codec and
      // the objects already live in files of their own.
      'max-lines': ['error', { max: 450, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['bench/**/*.ts', 'demo/**/*.ts'],
    rules: {
      // A benchmark or the demo is a narrated sequence of steps, read top to bottom.
      'max-lines-per-function': 'off',
    },
  },
  {
    files: testFiles,
    rules: {
      // describe() and it() callbacks are containers of cases, not functions to keep short.
      'max-lines-per-function': 'off',
      // A test file is a list of cases; allow it to be longer than a module.
      'max-lines': ['error', { max: 800, skipBlankLines: true, skipComments: true }],
      // Tests read JSON.parse output (`ip -j`, ctl --json) and untyped clients; the assertions are
      // the type checks there, so the no-unsafe-* family and explicit any are allowed.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly', console: 'readonly' },
    },
  },
  prettier,
);
