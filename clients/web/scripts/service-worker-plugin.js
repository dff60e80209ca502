// Emits dist/service-worker.js from a hand-written source, with the list of
// files of the app shell filled in. The worker keeps a fixed name (it must be
// served from the root to control the whole app); its cache name changes with
// the content of the build, so a new build replaces the old shell.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function listFiles(dir) {
  let out = [];
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(listFiles(full));
    else out.push(full);
  }
  return out;
}

export function serviceWorkerPlugin({ source }) {
  let config;
  return {
    name: 'relais-service-worker',
    apply: 'build',
    configResolved(resolved) { config = resolved; },
    generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const files = new Set();
      for (const [fileName, item] of Object.entries(bundle)) {
        if (fileName.endsWith('.map')) continue;
        files.add(fileName);
        hash.update(fileName);
        hash.update(item.type === 'chunk' ? item.code : item.source);
      }
      // Files of public/ are copied as they are; they belong to the shell too.
      const publicDir = config.publicDir;
      for (const full of listFiles(publicDir)) {
        const name = relative(publicDir, full).split(sep).join('/');
        files.add(name);
        hash.update(name);
        hash.update(readFileSync(full));
      }
      const shell = ['/', ...[...files].sort().map((f) => '/' + f)];
      const text = readFileSync(join(config.root, source), 'utf8')
        .replace('self.__RELAIS_SHELL__', JSON.stringify(shell, null, 2))
        .replace('__RELAIS_VERSION__', hash.digest('hex').slice(0, 16));
      this.emitFile({ type: 'asset', fileName: 'service-worker.js', source: text });
    },
  };
}
