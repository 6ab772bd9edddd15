import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noElectron = { name: 'electron', message: 'The engine, library and server run without Electron.' };
const engineInternals = {
  regex: '(^|/)engine/(?!index$).+',
  message: 'Import the engine through its index (src/engine/index.ts), not its internal files.',
};

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'training/data/**',
      'training/runs/**',
      'test-results/**',
      // AssemblyScript (compiled to WebAssembly by tools/wasm), not TypeScript.
      'native/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The engine runs under plain Node (CLI, tests, headless server): never import Electron there, nor
    // in the other layers that run headless (library, server) or in the browser (shared, renderer).
    files: ['src/engine/**', 'src/cli/**', 'src/shared/**', 'src/library/**', 'src/server/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron] }] },
  },
  {
    // Outside the engine, only its index is imported: the engine's folders are its own business.
    // (The rule's options replace, not merge, per file, so the headless layers repeat noElectron.)
    files: ['src/cli/**', 'src/farm/**', 'src/shared/**', 'src/library/**', 'src/server/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [noElectron], patterns: [engineInternals] }] },
  },
  {
    files: ['src/main/**', 'src/preload/**', 'src/renderer/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [engineInternals] }] },
  },
  {
    files: ['bin/**/*.js', 'tools/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
