// Builds the console into dist/: one ES module bundle and one stylesheet (esbuild, minified, named by content
// hash so the gateway can cache them as immutable), the favicon, and index.html pointing at them. Run by
// `make console` when a source changes. Nothing here is fetched at run time: the bundle holds its libraries.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const out = join(root, 'dist');
const staging = join(root, 'dist.tmp');
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(staging, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: join(root, 'src/main.js') },
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  legalComments: 'linked',
  entryNames: '[name]-[hash]',
  outdir: join(staging, 'assets'),
  metafile: true,
  logLevel: 'warning',
});

const names = { js: '', css: '' };
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!info.entryPoint) continue;
  names.js = basename(file);
  if (info.cssBundle) names.css = basename(info.cssBundle);
}
if (!names.js || !names.css) throw new Error(`the build made no script or no stylesheet: ${JSON.stringify(names)}`);

const favicon = readFileSync(join(root, 'src/favicon.svg'));
names.favicon = `favicon-${createHash('sha256').update(favicon).digest('hex').slice(0, 8)}.svg`;
writeFileSync(join(staging, 'assets', names.favicon), favicon);

const page = readFileSync(join(root, 'src/index.html'), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, key) => {
  if (!names[key]) throw new Error(`index.html names {{${key}}}, which the build does not make`);
  return names[key];
});
writeFileSync(join(staging, 'index.html'), page);

// Swap in the new build whole, so a running gateway never serves an index.html naming missing files.
const old = join(root, 'dist.old');
rmSync(old, { recursive: true, force: true });
if (existsSync(out)) renameSync(out, old);
renameSync(staging, out);
rmSync(old, { recursive: true, force: true });

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.map')) console.log(`  ${basename(file).padEnd(28)} ${(info.bytes / 1024).toFixed(1)} KiB`);
}
