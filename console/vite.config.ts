// The console's build: React with Vite, into console/dist, which the gateway (npm start) and nginx (compose, Tilt)
// serve. No inline scripts or styles end up in index.html, so the Content-Security-Policy needs no exceptions.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Keep every script a file: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev:console` serves the app with hot reload; its calls go to the gateway of `npm start`.
    proxy: { '^/pulse\\.': 'http://localhost:8080' },
  },
});
