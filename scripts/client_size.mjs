// Size of web/roomcast.js minified (esbuild, pinned in package-lock.json) and gzipped (level 9).
//   node scripts/client_size.mjs [--max BYTES]   exits 1 when the gzipped size is over --max
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function clientSize() {
  const { transform } = await import(path.join(root, 'node_modules/esbuild/lib/main.js'));
  const src = readFileSync(path.join(root, 'web/roomcast.js'), 'utf8');
  const min = await transform(src, { minify: true, format: 'esm', target: 'es2020' });
  return { source: Buffer.byteLength(src), minified: Buffer.byteLength(min.code),
    gzipped: gzipSync(min.code, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--max');
  const max = i > 0 ? Number(process.argv[i + 1]) : Infinity;
  const s = await clientSize();
  console.log(`web/roomcast.js: ${s.source} B source, ${s.minified} B minified, ${s.gzipped} B minified+gzipped`);
  if (s.gzipped > max) { console.error(`over ${max} B`); process.exit(1); }
}
