// Bundles the panel into dist/ (app.js, app.css, index.html, favicon.svg). The output is
// committed and embedded in the vod-api binary; infra/test.sh rebuilds it
// and fails if the result differs from what is committed.
import { copyFile, mkdir } from 'node:fs/promises';
import { build } from 'esbuild';

await mkdir('dist', { recursive: true });
await build({
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  format: 'iife',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: true,
  // Licences of bundled code (hls.js) stay with the bundle.
  legalComments: 'eof',
  outdir: 'dist',
  logLevel: 'warning',
});
await build({
  entryPoints: { app: 'src/style.css' },
  bundle: true,
  minify: true,
  outdir: 'dist',
  logLevel: 'warning',
});
await copyFile('src/index.html', 'dist/index.html');
await copyFile('src/favicon.svg', 'dist/favicon.svg');
