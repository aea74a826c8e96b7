import { quoteUntrusted } from '../../errors.ts';
import { isValidateParamsTask, isVerifyImageTask } from './pipeline-graph.ts';
import type { Check, RuleMeta } from './rule.ts';

/**
 * Advice: a Pipeline that takes input from outside should check it before
 * anything uses it, with the catalog's validate-params and verify-image.
 */

export const missingValidateGate: RuleMeta = {
  id: 'TA901',
  name: 'missing-validate-params-gate',
  severity: 'note',
  securitySeverity: 3.0,
  adversary: 4,
  group: 'gates',
  summary: 'A Pipeline takes params but no validate-params task checks them.',
  help: `Run the catalog's validate-params first and make the other tasks run after it, so a malformed or malicious value stops the run before any script sees it:

\`\`\`yaml
tasks:
  - name: validate
    taskRef: {name: validate-params}
    params:
      - name: rules
        value: |
          git-revision: {type: git-sha}
          image-tag: {type: image-tag}
      - name: values
        value: ["git-revision=$(params.git-revision)", "image-tag=$(params.image-tag)"]
  - name: build
    runAfter: [validate]
\`\`\``,
};

export const missingVerifyGate: RuleMeta = {
  id: 'TA902',
  name: 'missing-verify-image-gate',
  severity: 'note',
  securitySeverity: 3.0,
  adversary: 3,
  group: 'gates',
  summary: 'A Pipeline takes image params but no verify-image task checks a signature.',
  help: `Verify the images a Pipeline is handed with the catalog's verify-image before a task runs or deploys them, and pass on its \`verified-images\` result (digests), never the tag:\n\n\`\`\`yaml\ntasks:\n  - name: verify\n    taskRef: {name: verify-image}\n    params:\n      - {name: images, value: ["$(params.image)"]}\n  - name: deploy\n    runAfter: [verify]\n    params:\n      - {name: image, value: $(tasks.verify.results.verified-images)}\n\`\`\``,
};

/** Names of params that hold images to run or deploy (not image-tag or image-digest). */
const IMAGE_PARAM = /(^|[-_.])images?$/i;

const checkGates: Check = (context) => {
  for (const pipeline of context.model.pipelines) {
    const params = pipeline.spec.params ?? [];
    if (params.length === 0) continue;
    const tasks = context.model.pipelineTasks.filter((t) => t.pipeline === pipeline);
    if (!tasks.some(isValidateParamsTask)) {
      context.report(missingValidateGate, { doc: pipeline.doc, path: [...pipeline.path, 'params'] }, `${pipeline.label} takes ${params.length} param(s) and no validate-params task checks them`);
    }
    const imageParams = params.filter((p) => IMAGE_PARAM.test(p.name));
    if (imageParams.length > 0 && !tasks.some(isVerifyImageTask)) {
      const names = imageParams.map((p) => quoteUntrusted(p.name)).join(', ');
      context.report(missingVerifyGate, { doc: pipeline.doc, path: [...pipeline.path, 'params'] }, `${pipeline.label} takes image param(s) ${names} and no verify-image task checks them`);
    }
  }
};

export const gateRules = { rules: [missingValidateGate, missingVerifyGate], checks: [checkGates] };
