import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The browser app. `conclave serve` serves `dist/` (and index.html for every page the app routes itself).
export default defineConfig({
  plugins: [react()],
  // The E2EE worker imports the crypto package (code-split chunks): module workers only.
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // No source maps shipped by default; `vite build --sourcemap` when debugging.
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npm run dev -w @conclave/web` next to `conclave serve` on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080', '/ws': { target: 'ws://127.0.0.1:8080', ws: true } },
  },
});
