import { defineConfig } from 'vite';
import { serviceWorkerPlugin } from './scripts/service-worker-plugin.js';

// `relais serve` address used by `npm run dev` for /api calls.
const devApi = process.env.RELAIS_DEV_API || 'http://127.0.0.1:8080';

export default defineConfig({
  // Preact's JSX runtime through esbuild: no framework plugin needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Phones of 2020 and later; keeps the output free of heavy transforms.
    target: 'es2020',
  },
  plugins: [serviceWorkerPlugin({ source: 'src/sw/service-worker.js' })],
  server: { proxy: { '/api': { target: devApi, changeOrigin: false } } },
});
