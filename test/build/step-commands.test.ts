// Every step of every built Task sets `command`, and it is exactly the
// Entrypoint in its image's config on both platforms: Tekton never has to
// look it up in a registry (tektoncd/pipeline docs/container-contract.md),
// and whatever node the pod lands on runs the same program.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { builtCatalog } from '../harness/catalog-build.ts';
import { readImageConfig } from '../harness/step-image.ts';

t.test("each step's command is its image's Entrypoint on amd64 and arm64", async (t) => {
  const built = await builtCatalog();
  let steps = 0;
  for (const [name, entry] of Object.entries(built.index.tasks)) {
    const record = entry.versions[entry.latest]!;
    const task = parse(await readFile(join(built.catalogDir, record.path), 'utf8')) as { spec: { steps: { name: string; image: string; command?: string[] }[] } };
    for (const step of task.spec.steps) {
      const program = Object.entries(record.images).find(([, image]) => image.reference === step.image)?.[0];
      t.ok(program, `${name}/${step.name}: the image is one the catalog built`);
      if (!program) continue;
      t.ok(Array.isArray(step.command) && step.command.length > 0, `${name}/${step.name} sets command`);
      for (const arch of ['amd64', 'arm64'] as const) {
        const config = await readImageConfig(built.layoutDir, `step-${program}`, arch);
        t.same(step.command, config.Entrypoint, `${name}/${step.name}: command = ${arch} Entrypoint`);
      }
      steps++;
    }
  }
  t.ok(steps >= 4, `${steps} steps checked`);
});
