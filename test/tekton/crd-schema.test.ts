import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { isCatalogError } from '../../src/errors.ts';
import { checkObjectMeta, CrdValidator } from '../../src/tekton/crd-schema.ts';
import { DiagnosticCodes as C, type Diagnostic } from '../../src/tekton/diagnostic.ts';

/**
 * The Kubernetes structural-schema extensions, each on a small CRD written
 * for the purpose, so every keyword's meaning is pinned down independently
 * of Tekton's CRDs.
 */

function crd(kind: string, specSchema: Record<string, unknown>, extraVersions: Record<string, unknown>[] = []): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.toLowerCase()}s.example.dev` },
    spec: {
      group: 'example.dev',
      names: { kind, plural: `${kind.toLowerCase()}s` },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: specSchema },
            },
          },
        },
        ...extraVersions,
      ],
    },
  };
}

const widgetSpec = {
  type: 'object',
  properties: {
    port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
    replicas: { type: 'integer', format: 'int32' },
    free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
    tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    args: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic' },
    ports: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
      items: {
        type: 'object',
        required: ['containerPort'],
        properties: { containerPort: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } },
      },
    },
    selector: { type: 'object', additionalProperties: { type: 'string' }, 'x-kubernetes-map-type': 'atomic' },
    note: { type: 'string', nullable: true },
  },
};

function setup(t: Test, docs: Record<string, unknown>[]): string {
  const dir = t.testdir({});
  docs.forEach((doc, i) => writeFileSync(join(dir, `${i}-crd.yaml`), stringify(doc)));
  return dir;
}

const widget = (spec: Record<string, unknown>) => ({ apiVersion: 'example.dev/v1', kind: 'Widget', metadata: { name: 'w' }, spec });
const codes = (ds: Diagnostic[]) => ds.map((d) => `${d.code} ${d.path}`);

t.test('structural-schema extensions', async (t) => {
  const dir = setup(t, [crd('Widget', widgetSpec, [{ name: 'v0', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } }])]);
  const v = CrdValidator.load(dir);
  t.same(v.kinds, ['example.dev/Widget']);

  t.same(
    v.validate(
      widget({
        port: 8080,
        replicas: 3,
        free: { anything: { goes: [1, 'two'] } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, spec: { containers: [] } },
        tags: ['a', 'b'],
        args: ['x', 'x'],
        ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'UDP' }],
        selector: { app: 'w' },
        note: null,
      }),
    ),
    [],
    'a document using every extension correctly is valid',
  );
  t.same(v.validate(widget({ port: 'http' })), [], 'int-or-string takes a string');
  t.same(codes(v.validate(widget({ port: true }))), [`${C.crdSchema} spec.port`], 'int-or-string rejects a boolean');
  t.same(codes(v.validate(widget({ port: 1.5 }))), [`${C.crdSchema} spec.port`], 'int-or-string rejects a fraction');
  t.same(codes(v.validate(widget({ replicas: 2 ** 31 }))), [`${C.crdSchema} spec.replicas`], 'int32 range');
  t.same(codes(v.validate(widget({ tags: ['a', 'a'] }))), [`${C.crdSchema} spec.tags`], 'list-type set rejects duplicates');
  t.same(
    codes(v.validate(widget({ ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'TCP' }] }))),
    [`${C.crdSchema} spec.ports`],
    'list-type map: a missing key takes its default, so these two collide',
  );
  t.same(codes(v.validate(widget({ selector: { app: 1 } }))), [`${C.crdSchema} spec.selector.app`]);
  t.same(codes(v.validate(widget({ colour: 'red' }))), [`${C.crdUnknownField} spec.colour`], 'unknown field rejected');
  t.same(codes(v.validate(widget({ template: { spec: {}, extra: 1 } }))), [`${C.crdUnknownField} spec.template.extra`]);
  t.same(codes(v.validate({ ...widget({}), status: {} })), [`${C.crdUnknownField} status`]);
  t.same(codes(v.validate({ ...widget({}), apiVersion: 'example.dev/v0' })), [`${C.crdVersionNotServed} apiVersion`], 'unserved version');
  t.same(codes(v.validate({ ...widget({}), kind: 'Gadget' })), [`${C.crdVersionNotServed} apiVersion`], 'unknown kind');

  const pruning = CrdValidator.load(dir, { unknownFields: 'prune' });
  t.same(pruning.validate(widget({ colour: 'red', tags: ['a'] })), [], 'prune mode ignores unknown fields');
  t.same(codes(pruning.validate(widget({ tags: ['a', 'a'] }))), [`${C.crdSchema} spec.tags`], 'prune mode still validates known ones');
});

t.test('fails closed on what it cannot evaluate', async (t) => {
  const cel = setup(t, [crd('Widget', { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a > 0' }], properties: { a: { type: 'integer' } } })]);
  t.throws(() => CrdValidator.load(cel).validate(widget({ a: 1 })), { code: 'TEKTON_CRD_UNSUPPORTED' }, 'CEL rules are refused, not skipped');

  const unknownExtension = setup(t, [crd('Widget', { type: 'object', 'x-kubernetes-something-new': true })]);
  t.throws(() => CrdValidator.load(unknownExtension).validate(widget({})), 'an unknown schema keyword stops compilation');

  const unknownListType = setup(t, [crd('Widget', { type: 'object', properties: { l: { type: 'array', 'x-kubernetes-list-type': 'bag' } } })]);
  t.same(codes(CrdValidator.load(unknownListType).validate(widget({ l: [] }))), [`${C.crdSchema} spec.l`], 'an unknown list-type rejects');

  const empty = t.testdir({ 'README.md': 'no CRDs here' });
  try {
    CrdValidator.load(empty);
    t.fail('should throw');
  } catch (error) {
    t.ok(isCatalogError(error) && error.code === 'TEKTON_CRD_DIR');
  }
  t.throws(() => CrdValidator.load(join(empty, 'missing')), { code: 'TEKTON_CRD_DIR' });
});

t.test('ObjectMeta rules the API server applies', async (t) => {
  t.same(checkObjectMeta({ name: 'a.b-c', namespace: 'ci', labels: { 'app.kubernetes.io/version': '0.1', x: '' }, annotations: { 'tekton.dev/tags': 'a, b' } }), []);
  t.same(checkObjectMeta({ generateName: 'run-' }), [], 'generateName may end in "-"');
  const cases: [unknown, string][] = [
    [{}, `${C.metadataInvalid} metadata.name`],
    [{ name: 'UPPER' }, `${C.metadataInvalid} metadata.name`],
    [{ name: 'x'.repeat(254) }, `${C.metadataInvalid} metadata.name`],
    [{ name: 'a', namespace: 'a.b' }, `${C.metadataInvalid} metadata.namespace`],
    [{ name: 'a', labels: { 'bad key!': 'v' } }, `${C.metadataInvalid} metadata.labels["bad key!"]`],
    [{ name: 'a', labels: { k: 'x'.repeat(64) } }, `${C.metadataInvalid} metadata.labels.k`],
    [{ name: 'a', annotations: { k: true } }, `${C.metadataInvalid} metadata.annotations.k`],
    [{ name: 'a', annotations: { k: 'x'.repeat(256 * 1024) } }, `${C.metadataInvalid} metadata.annotations`],
    [{ name: 'a', labelz: {} }, `${C.crdUnknownField} metadata.labelz`],
    ['name', `${C.metadataInvalid} metadata`],
  ];
  for (const [meta, expected] of cases) t.same(codes(checkObjectMeta(meta)), [expected], expected);
});
