import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { artifactHubAnnotations } from '../../src/build/artifact-hub.ts';
import { CATALOG_MAINTAINER, MIN_PIPELINES_VERSION } from '../../src/build/catalog-metadata.ts';
import { defineTask } from '../../src/build/definition.ts';
import { hardeningViolations } from '../../src/build/hardening.ts';
import { imageEntrypoint, stepEntrypoint } from '../../src/build/image.ts';
import { emitTask } from '../../src/build/task-emitter.ts';
import { inputLabel, TASK_INPUTS_ENV } from '../../src/step/task-inputs.ts';
import { buildImageConfig, buildImageIndex, buildImageManifest, linuxPlatform } from '../../src/oci/image-config.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { HARDENED_SECURITY_CONTEXT } from '../tekton/fixtures.ts';

const pinned = (program: string) => `registry.example.com/catalog/steps/${program}@sha256:${'c'.repeat(64)}`;

const base = {
  name: 'demo',
  version: '0.1.0',
  displayName: 'Demo',
  summary: 'A demo Task.',
  description: 'Longer text.',
  categories: ['Security'],
  tags: ['demo', 'security'],
  params: [{ name: 'revision', description: 'A git revision', rule: { type: 'git-sha' as const } }],
  steps: [
    {
      name: 'run',
      program: 'validate-params',
      env: [{ name: 'PARAM_REVISION', value: '$(params.revision)' }],
    },
  ],
};

t.test('emits tektoncd/catalog labels and annotations and a summary line', async (t) => {
  const task = emitTask(defineTask(base), pinned);
  t.equal(task.apiVersion, 'tekton.dev/v1');
  t.equal(task.metadata.labels['app.kubernetes.io/version'], '0.1.0');
  const annotations = task.metadata.annotations as Record<string, string>;
  t.same(
    Object.fromEntries(Object.entries(annotations).filter(([key]) => key.startsWith('tekton.dev/'))),
    {
      'tekton.dev/pipelines.minVersion': MIN_PIPELINES_VERSION,
      'tekton.dev/categories': 'Security',
      'tekton.dev/tags': 'demo, security',
      'tekton.dev/displayName': 'Demo',
      'tekton.dev/platforms': 'linux/amd64,linux/arm64',
    },
  );
  t.equal(defineTask(base).artifactHubCategory, 'security', 'Artifact Hub category defaults to security');
  // The artifacthub.io/* annotations are added by the build (test/build/artifacthub.test.ts checks the catalog): emitTask reads no project file.
  t.same(Object.keys(annotations).filter((key) => key.startsWith('artifacthub.io/')), []);
  t.same(parse(artifactHubAnnotations({ name: 'demo', version: '0.1.0', category: 'security' })['artifacthub.io/maintainers']!), [{ ...CATALOG_MAINTAINER }], 'the one catalog maintainer, with an email');
  t.match(task.spec.description, /^A demo Task\.\n\nLonger text\.\n$/);
});

t.test('every step is hardened and pinned', async (t) => {
  const task = emitTask(defineTask(base), pinned);
  const step = task.spec.steps[0]!;
  t.equal(step.image, pinned('validate-params'));
  t.same(hardeningViolations(step), []);
  t.same(step.securityContext, HARDENED_SECURITY_CONTEXT);
  t.same(step.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
  t.same(task.spec.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
  t.ok(step.computeResources.requests.cpu && step.computeResources.limits.memory);
});

t.test('a $(...) substitution in a script is rejected', async (t) => {
  const definition = defineTask({
    ...base,
    steps: [{ name: 'run', program: 'validate-params', script: '#!/usr/local/bin/node\nconsole.log("$(params.revision)")' }],
  });
  t.throws(() => emitTask(definition, pinned), { code: 'BUILD_SCRIPT_SUBSTITUTION' });
});

t.test('an image that is not pinned by digest is rejected', async (t) => {
  t.throws(() => emitTask(defineTask(base), (program) => `registry.example.com/${program}:latest`), {
    code: 'BUILD_NOT_HARDENED',
  });
});

t.test('hardening check catches each weakened field', async (t) => {
  const step = emitTask(defineTask(base), pinned).spec.steps[0]!;
  const weakened = [
    { ...step, securityContext: { ...step.securityContext, runAsNonRoot: false } },
    { ...step, securityContext: { ...step.securityContext, readOnlyRootFilesystem: false } },
    { ...step, securityContext: { ...step.securityContext, allowPrivilegeEscalation: true } },
    { ...step, securityContext: { ...step.securityContext, capabilities: { drop: [] } } },
    { ...step, securityContext: { ...step.securityContext, seccompProfile: { type: 'Unconfined' } } },
    { ...step, computeResources: { requests: { cpu: '1' }, limits: { cpu: '1', memory: '1Gi' } } },
    { ...step, script: 'echo $(params.x)' },
  ];
  for (const candidate of weakened) t.not(hardeningViolations(candidate as typeof step).length, 0);
});

t.test('definitions are validated with field paths', async (t) => {
  t.throws(() => defineTask({ ...base, name: 'Not_A_Label' }), /name/);
  t.throws(() => defineTask({ ...base, version: '1' }), /MAJOR\.MINOR/);
  t.throws(() => defineTask({ ...base, steps: [] }));
  t.throws(() => defineTask({ ...base, params: [{ name: 'x', description: 'no rule' } as never] }), /rule/);
});

t.test("every step sets command to its image's Entrypoint, and args stay", async (t) => {
  const resolved = (program: string) => ({ reference: pinned(program), command: ['/usr/local/bin/node', `/app/${program}.mjs`] });
  const task = emitTask(defineTask({ ...base, steps: [{ name: 'run', program: 'validate-params', args: ['--x', '$(params.revision)'] }] }), resolved);
  const step = task.spec.steps[0]!;
  t.same(step.command, ['/usr/local/bin/node', '/app/validate-params.mjs']);
  t.same(step.args, ['--x', '$(params.revision)']);
  t.same(Object.keys(step).slice(0, 4), ['name', 'image', 'command', 'args'], 'command sits between image and args');
  t.same(emitTask(defineTask(base), pinned).spec.steps[0]!.command, stepEntrypoint('validate-params'), 'a bare reference gets the Entrypoint every step image is built with');
});

t.test('a step without a command (or with both command and script) is not hardened', async (t) => {
  const step = emitTask(defineTask(base), pinned).spec.steps[0]!;
  const { command: _command, ...withoutCommand } = step;
  t.match(hardeningViolations(withoutCommand as typeof step), [/has no command/]);
  t.match(hardeningViolations({ ...step, command: ['node'] }), [/has no command/], 'the command starts with an absolute path');
  t.match(hardeningViolations({ ...step, script: '#!/usr/local/bin/node\n' } as typeof step), [/both script and command/]);
  const scripted = emitTask(defineTask({ ...base, steps: [{ name: 'run', program: 'validate-params', script: '#!/usr/local/bin/node\nconsole.log(1)' }] }), pinned);
  t.notOk('command' in scripted.spec.steps[0]!, 'a script step leaves command to Tekton, which refuses both');
});

t.test('the Entrypoint comes from the built image, and platforms that disagree fail the build', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'entrypoint-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const layout = await OciLayout.create(dir);
  const manifestFor = async (arch: 'amd64' | 'arm64', entrypoint: string[] | undefined) => {
    const config = await layout.writeJson(
      buildImageConfig({ arch, created: '1970-01-01T00:00:00Z', container: entrypoint ? { Entrypoint: entrypoint } : {}, layers: [] }),
      MediaType.imageConfig,
    );
    return (await layout.writeJson(buildImageManifest(config.descriptor, []), MediaType.imageManifest)).descriptor;
  };
  const indexOf = async (amd64: string[] | undefined, arm64: string[] | undefined) =>
    (
      await layout.writeJson(
        buildImageIndex([
          { manifest: await manifestFor('amd64', amd64), platform: linuxPlatform('amd64') },
          { manifest: await manifestFor('arm64', arm64), platform: linuxPlatform('arm64') },
        ]),
        MediaType.imageIndex,
      )
    ).descriptor;
  const same = ['/usr/local/bin/node', '/app/x.mjs'];
  t.same(await imageEntrypoint(layout, await indexOf(same, same), 'step-x'), same);
  await t.rejects(imageEntrypoint(layout, await indexOf(same, ['/usr/local/bin/node', '/app/y.mjs']), 'step-x'), {
    code: 'IMAGE_ENTRYPOINT_MISMATCH',
    message: /linux\/amd64 .*x\.mjs.*linux\/arm64 .*y\.mjs/,
  });
  await t.rejects(imageEntrypoint(layout, await indexOf(same, undefined), 'step-x'), { code: 'IMAGE_ENTRYPOINT_MISSING', message: /linux\/arm64/ });
});

t.test('each step says which Task param or workspace feeds its env vars and flags, and that name is reserved', async (t) => {
  const definition = defineTask({
    ...base,
    params: [...base.params, { name: 'images', type: 'array', description: 'Images', rule: { type: 'image-reference' } }],
    workspaces: [{ name: 'secret', description: 'A Secret', optional: true }],
    steps: [
      {
        name: 'run',
        program: 'validate-params',
        args: ['--images', '$(params.images[*])', '--fixed', 'literal'],
        env: [
          { name: 'PARAM_REVISION', value: '$(params.revision)' },
          { name: 'SECRET_DIR', value: '$(workspaces.secret.path)' },
          { name: 'MIXED', value: 'prefix-$(params.revision)' },
          { name: 'CONSTANT', value: 'x' },
        ],
      },
    ],
  });
  const step = emitTask(definition, pinned).spec.steps[0]!;
  const inputs = step.env!.find((e) => e.name === TASK_INPUTS_ENV)?.value;
  t.equal(inputs, 'PARAM_REVISION=param:revision SECRET_DIR=workspace:secret --images=param:images', 'only whole references are mapped');
  const env = { [TASK_INPUTS_ENV]: inputs };
  t.equal(inputLabel('PARAM_REVISION', env), 'param "revision"');
  t.equal(inputLabel('--images', env), 'param "images"');
  t.equal(inputLabel('CONSTANT', env), 'CONSTANT', 'a value the Task sets itself keeps its own name');
  t.throws(
    () => emitTask(defineTask({ ...base, steps: [{ ...base.steps[0]!, env: [{ name: TASK_INPUTS_ENV, value: 'x' }] }] }), pinned),
    { code: 'BUILD_RESERVED_ENV' },
  );
});
