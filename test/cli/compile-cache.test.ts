import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../harness/shared.ts';

// The command line keeps V8's compiled code in the user's own cache folder between runs.
const work = mkdtempSync(join(tmpdir(), 'cli-compile-cache-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function runCli(cacheHome: string, extraEnv: Record<string, string> = {}): void {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CACHE_HOME: cacheHome, ...extraEnv };
  execFileSync(process.execPath, [join(repoRoot, 'src/cli/main.ts'), 'audit', '--list-rules'], { env, stdio: 'ignore' });
}

const cacheDirOf = (home: string) => join(home, 'hardened-tekton-catalog', 'node-compile-cache');
const cachedFiles = (home: string) => (readdirSync(cacheDirOf(home), { recursive: true }) as string[]).filter((name) => statSync(join(cacheDirOf(home), name)).isFile());

t.test('a run fills a cache folder only its user may open', async (t) => {
  const home = join(work, 'private');
  runCli(home);
  t.equal(statSync(cacheDirOf(home)).mode & 0o777, 0o700, 'created 0700');
  t.ok(cachedFiles(home).length > 10, `${cachedFiles(home).length} modules cached`);
});

t.test('a cache folder others may write is not used', async (t) => {
  const home = join(work, 'shared');
  mkdirSync(cacheDirOf(home), { recursive: true });
  chmodSync(cacheDirOf(home), 0o777);
  runCli(home);
  t.same(cachedFiles(home), [], 'nothing written into a world-writable folder');
});

t.test('NODE_DISABLE_COMPILE_CACHE turns it off', async (t) => {
  const home = join(work, 'disabled');
  runCli(home, { NODE_DISABLE_COMPILE_CACHE: '1' });
  t.throws(() => statSync(cacheDirOf(home)), { code: 'ENOENT' }, 'no folder made');
});
