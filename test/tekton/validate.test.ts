import t from 'tap';
import { isCatalogError } from '../../src/errors.ts';
import {
  assertValidTektonDocument,
  DiagnosticCodes,
  validateAgainstCrds,
  validateTektonDocument,
  type Diagnostic,
} from '../../src/tekton/validate.ts';
import { checkScriptSubstitutions } from '../../src/tekton/references.ts';
import { sharedPath } from '../harness/shared.ts';
import { validPipeline, validPipelineRun, validStepAction, validTask, validTaskRun } from './fixtures.ts';

const C = DiagnosticCodes;
const summary = (ds: Diagnostic[]) => ds.map((d) => `${d.code} ${d.path}`);

t.test('the valid fixtures pass the model and semantic layer', async (t) => {
  for (const make of [validTask, validPipeline, validTaskRun, validPipelineRun, validStepAction]) {
    const doc = make();
    t.same(validateTektonDocument(doc), [], `${doc.kind} is valid`);
  }
});

interface Broken {
  name: string;
  make: () => unknown;
  code: string;
  path: string;
}

/** Each entry breaks one thing in an otherwise valid document. */
const broken: Broken[] = [
  {
    name: 'undeclared param reference in an env value',
    make: () => { const d = validTask(); d.spec.steps[0].env[0].value = '$(params.git-revison)'; return d; },
    code: C.paramUndeclared,
    path: 'spec.steps[0].env[0].value',
  },
  {
    name: 'undeclared param reference in the image',
    make: () => { const d = validTask(); d.spec.steps[1].image = 'registry/$(params.nope)'; return d; },
    code: C.paramUndeclared,
    path: 'spec.steps[1].image',
  },
  {
    name: 'undeclared workspace',
    make: () => { const d = validTask(); d.spec.steps[0].args.push('$(workspaces.output.path)'); return d; },
    code: C.workspaceUndeclared,
    path: 'spec.steps[0].args[3]',
  },
  {
    name: 'undeclared result',
    make: () => { const d = validTask(); d.spec.steps[1].env[1].value = '$(results.validated.path)'; return d; },
    code: C.resultUndeclared,
    path: 'spec.steps[1].env[1].value',
  },
  {
    name: 'undeclared param in stepTemplate',
    make: () => { const d = validTask(); d.spec.stepTemplate = { env: [{ name: 'X', value: '$(params.ghost)' }] }; return d; },
    code: C.paramUndeclared,
    path: 'spec.stepTemplate.env[0].value',
  },
  {
    name: 'workingDir with an unknown workspace',
    make: () => { const d = validTask(); d.spec.steps[0].workingDir = '$(workspaces.src.path)'; return d; },
    code: C.workspaceUndeclared,
    path: 'spec.steps[0].workingDir',
  },
  {
    name: 'step name that is not a DNS-1123 label',
    make: () => { const d = validTask(); d.spec.steps[0].name = 'Validate_Params'; return d; },
    code: C.nameInvalid,
    path: 'spec.steps[0].name',
  },
  {
    name: 'Task name that is not a DNS-1123 subdomain',
    make: () => { const d = validTask(); d.metadata.name = 'Validate Params'; return d; },
    code: C.nameInvalid,
    path: 'metadata.name',
  },
  {
    name: 'workspace name that is not a DNS-1123 label',
    make: () => { const d = validTask(); d.spec.workspaces[0].name = 'my_source'; d.spec.steps.forEach((s: any) => (s.args = [])); return d; },
    code: C.nameInvalid,
    path: 'spec.workspaces[0].name',
  },
  {
    name: 'duplicate param',
    make: () => { const d = validTask(); d.spec.params.push({ name: 'mode', type: 'string' }); return d; },
    code: C.duplicateName,
    path: 'spec.params[3].name',
  },
  {
    name: 'duplicate step',
    make: () => { const d = validTask(); d.spec.steps[1].name = 'validate'; return d; },
    code: C.duplicateName,
    path: 'spec.steps[1].name',
  },
  {
    name: 'duplicate workspace',
    make: () => { const d = validTask(); d.spec.workspaces.push({ name: 'source' }); return d; },
    code: C.duplicateName,
    path: 'spec.workspaces[1].name',
  },
  {
    name: 'param default of the wrong type',
    make: () => { const d = validTask(); d.spec.params[1].default = 'not-a-list'; return d; },
    code: C.paramDefaultMismatch,
    path: 'spec.params[1].default',
  },
  {
    name: 'param default outside its enum',
    make: () => { const d = validTask(); d.spec.params[2].default = 'sloppy'; return d; },
    code: C.paramDefaultMismatch,
    path: 'spec.params[2].default',
  },
  {
    name: 'array param expanded inside a string',
    make: () => { const d = validTask(); d.spec.steps[0].env[0].value = 'x $(params.images[*])'; return d; },
    code: C.paramArrayMisuse,
    path: 'spec.steps[0].env[0].value',
  },
  {
    name: 'missing steps',
    make: () => { const d = validTask(); delete d.spec.steps; return d; },
    code: C.modelInvalid,
    path: 'spec.steps',
  },
  {
    name: 'empty steps',
    make: () => { const d = validTask(); d.spec.steps = []; return d; },
    code: C.modelInvalid,
    path: 'spec.steps',
  },
  {
    name: 'unknown onError value',
    make: () => { const d = validTask(); d.spec.steps[0].onError = 'ignore'; return d; },
    code: C.modelInvalid,
    path: 'spec.steps[0].onError',
  },
  {
    name: 'step timeout given as a number',
    make: () => { const d = validTask(); d.spec.steps[0].timeout = 300; return d; },
    code: C.modelInvalid,
    path: 'spec.steps[0].timeout',
  },
  {
    name: 'step without image',
    make: () => { const d = validTask(); delete d.spec.steps[0].image; return d; },
    code: C.stepImageMissing,
    path: 'spec.steps[0].image',
  },
  {
    name: 'step with script and command',
    make: () => { const d = validTask(); d.spec.steps[0].script = '#!/bin/sh\ntrue'; d.spec.steps[0].command = ['sh']; return d; },
    code: C.stepScriptWithCommand,
    path: 'spec.steps[0].script',
  },
  {
    name: 'exit code of an unknown step',
    make: () => { const d = validTask(); d.spec.steps[1].args[1] = '$(steps.step-validat.exitCode.path)'; return d; },
    code: C.stepUnknown,
    path: 'spec.steps[1].args[1]',
  },
  {
    name: 'PipelineResources reference',
    make: () => { const d = validTask(); d.spec.steps[0].args.push('$(inputs.params.mode)'); return d; },
    code: C.referenceLegacy,
    path: 'spec.steps[0].args[3]',
  },
  {
    name: '$(params.x) inside a script (catalog rule)',
    make: () => { const d = validTask(); d.spec.steps[0].script = '#!/bin/sh\necho "$(params.mode)"'; return d; },
    code: C.scriptSubstitution,
    path: 'spec.steps[0].script',
  },
  {
    name: 'runAfter to an unknown task',
    make: () => { const d = validPipeline(); d.spec.tasks[1].runAfter = ['validte']; return d; },
    code: C.runAfterUnknown,
    path: 'spec.tasks[1].runAfter[0]',
  },
  {
    name: 'tasks.x.results.y of an unknown task',
    make: () => { const d = validPipeline(); d.spec.tasks[1].when[0].input = '$(tasks.check.results.VALIDATED)'; return d; },
    code: C.pipelineTaskUnknown,
    path: 'spec.tasks[1].when[0].input',
  },
  {
    name: 'result an embedded taskSpec does not declare',
    make: () => { const d = validPipeline(); d.spec.results[0].value = '$(tasks.build.results.sha)'; return d; },
    code: C.resultUndeclared,
    path: 'spec.results[0].value',
  },
  {
    name: 'workspace binding to an undeclared pipeline workspace',
    make: () => { const d = validPipeline(); d.spec.tasks[0].workspaces[0].workspace = 'cache'; return d; },
    code: C.workspaceUndeclared,
    path: 'spec.tasks[0].workspaces[0]',
  },
  {
    name: 'undeclared pipeline param',
    make: () => { const d = validPipeline(); d.spec.tasks[0].params[0].value = '$(params.revision)'; return d; },
    code: C.paramUndeclared,
    path: 'spec.tasks[0].params[0].value',
  },
  {
    name: 'duplicate pipeline task across tasks and finally',
    make: () => { const d = validPipeline(); d.spec.finally[0].name = 'build'; return d; },
    code: C.duplicateName,
    path: 'spec.finally[0].name',
  },
  {
    name: 'pipeline task name that is not a DNS-1123 label',
    make: () => { const d = validPipeline(); d.spec.finally[0].name = 'Notify'; return d; },
    code: C.nameInvalid,
    path: 'spec.finally[0].name',
  },
  {
    name: 'task status outside finally',
    make: () => { const d = validPipeline(); d.spec.tasks[1].params[0].value = '$(tasks.validate.status)'; return d; },
    code: C.referenceInvalid,
    path: 'spec.tasks[1].params[0].value',
  },
  {
    name: 'runAfter in a finally task',
    make: () => { const d = validPipeline(); d.spec.finally[0].runAfter = ['build']; return d; },
    code: C.finallyRunAfter,
    path: 'spec.finally[0].runAfter',
  },
  {
    name: 'tasks that wait for each other',
    make: () => { const d = validPipeline(); d.spec.tasks[0].runAfter = ['build']; return d; },
    code: C.pipelineCycle,
    path: 'spec.tasks',
  },
  {
    name: 'pipeline task with both taskRef and taskSpec',
    make: () => { const d = validPipeline(); d.spec.tasks[1].taskRef = { name: 'build' }; return d; },
    code: C.taskRefInvalid,
    path: 'spec.tasks[1]',
  },
  {
    name: 'embedded task missing a required param',
    make: () => { const d = validPipeline(); d.spec.tasks[1].params = []; return d; },
    code: C.paramMissing,
    path: 'spec.tasks[1].params',
  },
  {
    name: 'TaskRun with neither taskRef nor taskSpec',
    make: () => { const d = validTaskRun(); delete d.spec.taskRef; return d; },
    code: C.modelInvalid,
    path: 'spec',
  },
  {
    name: 'PipelineRun param value of a wrong type',
    make: () => { const d = validPipelineRun(); d.spec.params[0].value = 42; return d; },
    code: C.modelInvalid,
    path: 'spec.params[0].value',
  },
  {
    name: 'StepAction with an undeclared step result',
    make: () => { const d = validStepAction(); d.spec.args[1] = '$(step.results.done.path)'; return d; },
    code: C.resultUndeclared,
    path: 'spec.args[1]',
  },
  {
    name: 'a kind this validator does not know',
    make: () => ({ apiVersion: 'tekton.dev/v1alpha1', kind: 'Condition', metadata: { name: 'x' }, spec: {} }),
    code: C.kindUnsupported,
    path: 'kind',
  },
  {
    name: 'not a mapping',
    make: () => ['apiVersion', 'kind'],
    code: C.documentInvalid,
    path: '',
  },
];

t.test('rejects each kind of broken document with its code and path', async (t) => {
  const kinds = new Set<string>();
  for (const b of broken) {
    const diagnostics = validateTektonDocument(b.make());
    t.ok(
      diagnostics.some((d) => d.code === b.code && d.path === b.path),
      `${b.name}: expected ${b.code} at ${b.path || '(document)'}`,
      { found: summary(diagnostics) },
    );
    kinds.add(b.code);
  }
  t.ok(kinds.size >= 10, `at least 10 distinct diagnostic codes exercised (got ${kinds.size})`);
});

t.test('messages escape untrusted values and never print them raw', async (t) => {
  const d = validTask();
  d.spec.steps[0].env[0].value = '$(params.x\u202e)';
  d.spec.steps[0].name = 'bad\nname\u0000';
  const diagnostics = validateTektonDocument(d);
  t.ok(diagnostics.length > 0);
  for (const diagnostic of diagnostics) {
    t.notMatch(diagnostic.message, /[\n\u0000\u202e]/, 'no raw control or bidi characters');
  }
  t.ok(diagnostics.some((x) => x.message.includes('\\n')), 'the newline shows escaped');
});

t.test('the script rule can be turned off for third-party YAML and run on its own', async (t) => {
  const d = validTask();
  d.spec.steps[0].script = '#!/bin/sh\necho $(params.mode) $(cat /etc/hostname)';
  t.same(validateTektonDocument(d, { catalogRules: false }), []);
  const findings = checkScriptSubstitutions(d);
  t.same(summary(findings), [`${C.scriptSubstitution} spec.steps[0].script`]);
  t.match(findings[0]!.message, /params\.mode/);
  t.notMatch(findings[0]!.message, /cat \/etc/, 'shell command substitution is not a Tekton finding');
  const embedded = validPipeline();
  embedded.spec.tasks[1].taskSpec.steps[0].script = 'echo $(params.revision)';
  t.same(summary(checkScriptSubstitutions(embedded)), [`${C.scriptSubstitution} spec.tasks[1].taskSpec.steps[0].script`]);
});

t.test('propagated params and workspaces are accepted in embedded specs', async (t) => {
  const run = validTaskRun();
  delete run.spec.taskRef;
  run.spec.taskSpec = { steps: [{ name: 'x', image: 'busybox', args: ['$(params.git-revision)', '$(workspaces.source.path)'] }] };
  t.same(validateTektonDocument(run), []);
  run.spec.taskSpec.steps[0].args.push('$(params.other)');
  t.same(summary(validateTektonDocument(run)), [`${C.paramUndeclared} spec.taskSpec.steps[0].args[2]`]);
});

t.test('assertValidTektonDocument throws one CatalogError listing every problem', async (t) => {
  t.doesNotThrow(() => assertValidTektonDocument(validTask(), 'Task validate-params 0.1'));
  const d = validTask();
  d.spec.steps[1].name = 'Bad';
  d.spec.steps[0].env[0].value = '$(params.ghost)';
  try {
    assertValidTektonDocument(d, 'Task validate-params 0.1');
    t.fail('should throw');
  } catch (error) {
    t.ok(isCatalogError(error));
    if (!isCatalogError(error)) return;
    t.equal(error.code, 'TEKTON_DOCUMENT_INVALID');
    t.match(error.message, /Task validate-params 0\.1/);
    t.match(error.message, /2 problems/);
    t.match(error.message, /TEKTON_NAME_INVALID at spec\.steps\[1\]\.name/);
    t.match(error.message, /TEKTON_PARAM_UNDECLARED at spec\.steps\[0\]\.env\[0\]\.value/);
  }
});

t.test('CRD layer', async (t) => {
  const crdDir = sharedPath(t, 'tekton/crds');
  if (!crdDir) return;

  t.test('the valid fixtures pass the CRD schemas', async (t) => {
    for (const make of [validTask, validPipeline, validTaskRun, validPipelineRun, validStepAction]) {
      const doc = make();
      t.same(validateAgainstCrds(doc, crdDir), [], `${doc.kind} is valid for the API server`);
    }
  });

  const crdBroken: Broken[] = [
    {
      name: 'step timeout given as a number',
      make: () => { const d = validTask(); d.spec.steps[0].timeout = 300; return d; },
      code: C.crdSchema,
      path: 'spec.steps[0].timeout',
    },
    {
      name: 'runAsUser given as a string (the model lets securityContext through)',
      make: () => { const d = validTask(); d.spec.steps[0].securityContext.runAsUser = 'nobody'; return d; },
      code: C.crdSchema,
      path: 'spec.steps[0].securityContext.runAsUser',
    },
    {
      name: 'a misspelt field (the model is loose, the CRD is not)',
      make: () => { const d = validTask(); d.spec.steps[0].computeResource = d.spec.steps[0].computeResources; return d; },
      code: C.crdUnknownField,
      path: 'spec.steps[0].computeResource',
    },
    {
      name: 'a quantity that is not one',
      make: () => { const d = validTask(); d.spec.steps[0].computeResources.limits.cpu = 'half'; return d; },
      code: C.crdSchema,
      path: 'spec.steps[0].computeResources.limits.cpu',
    },
    {
      name: 'a required field missing (param name)',
      make: () => { const d = validTask(); delete d.spec.params[0].name; return d; },
      code: C.crdSchema,
      path: 'spec.params[0]',
    },
    {
      name: 'a label value that is not a string',
      make: () => { const d = validTask(); d.metadata.labels['app.kubernetes.io/version'] = 0.1; return d; },
      code: C.metadataInvalid,
      path: 'metadata.labels["app.kubernetes.io/version"]',
    },
    {
      name: 'a label value with spaces',
      make: () => { const d = validTask(); d.metadata.labels.team = 'platform team'; return d; },
      code: C.metadataInvalid,
      path: 'metadata.labels.team',
    },
    {
      name: 'a name that is not a DNS-1123 subdomain',
      make: () => { const d = validPipeline(); d.metadata.name = 'Gated_Build'; return d; },
      code: C.metadataInvalid,
      path: 'metadata.name',
    },
    {
      name: 'an apiVersion no CRD serves',
      make: () => { const d = validTask(); d.apiVersion = 'tekton.dev/v2'; return d; },
      code: C.crdVersionNotServed,
      path: 'apiVersion',
    },
    {
      name: 'a map-list with two items of the same key (x-kubernetes-list-type: map)',
      make: () => {
        const d = validTask();
        d.spec.sidecars = [{ name: 'db', image: 'postgres', ports: [{ containerPort: 5432 }, { containerPort: 5432, protocol: 'TCP' }] }];
        return d;
      },
      code: C.crdSchema,
      path: 'spec.sidecars[0].ports',
    },
    {
      name: 'a workspace binding with an unknown volume source',
      make: () => { const d = validTaskRun(); d.spec.workspaces[0].hostPath = { path: '/' }; return d; },
      code: C.crdUnknownField,
      path: 'spec.workspaces[0].hostPath',
    },
    {
      name: 'a PipelineRun timeout as a number',
      make: () => { const d = validPipelineRun(); d.spec.timeouts.pipeline = 3600; return d; },
      code: C.crdSchema,
      path: 'spec.timeouts.pipeline',
    },
  ];

  t.test('rejects schema violations the API server would reject', async (t) => {
    for (const b of crdBroken) {
      const diagnostics = validateAgainstCrds(b.make(), crdDir);
      t.ok(
        diagnostics.some((d) => d.code === b.code && d.path === b.path),
        `${b.name}: expected ${b.code} at ${b.path}`,
        { found: summary(diagnostics) },
      );
    }
  });

  t.test('int-or-string and preserve-unknown-fields are honoured', async (t) => {
    const d = validTask();
    d.spec.steps[0].computeResources.limits.cpu = 1; // int-or-string: an integer is fine
    d.spec.params[0].default = 'x'; // preserve-unknown-fields holds any default
    d.spec.sidecars = [{ name: 'db', image: 'postgres', ports: [{ containerPort: 5432 }, { containerPort: 5432, protocol: 'UDP' }] }];
    t.same(validateAgainstCrds(d, crdDir), []);
  });

  t.test('prune mode ignores unknown fields, as the server drops them', async (t) => {
    const d = validTask();
    d.spec.steps[0].computeResource = {};
    t.same(validateAgainstCrds(d, crdDir, { unknownFields: 'prune' }), []);
    t.ok(validateAgainstCrds(d, crdDir).length > 0, 'reject mode (the default) reports it');
  });

  t.test('a wrong onError value passes the CRD (a plain string there) but not the model', async (t) => {
    const d = validTask();
    d.spec.steps[0].onError = 'ignore';
    t.same(validateAgainstCrds(d, crdDir), []);
    t.ok(validateTektonDocument(d).some((x) => x.code === C.modelInvalid && x.path === 'spec.steps[0].onError'));
  });
});
