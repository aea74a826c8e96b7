import type { TaskDefinition } from '../../src/build/definition.ts';
import audit from '../../tasks/audit/task.ts';
import injectCredentials from '../../tasks/inject-credentials/task.ts';
import validateParams from '../../tasks/validate-params/task.ts';
import verifyCatalog from '../../tasks/verify-catalog/task.ts';
import verifyImage from '../../tasks/verify-image/task.ts';
import workspaceGuard from '../../tasks/workspace-guard/task.ts';

/**
 * The catalog's Task definitions, bundled into the audit step so it can
 * lint Pipelines against our Tasks' interfaces and param rules without the
 * catalog index (which holds the step's own image digest, so it cannot be
 * inside the image). A test checks this list against tasks/.
 */
export const CATALOG_DEFINITIONS: readonly TaskDefinition[] = [audit, injectCredentials, validateParams, verifyCatalog, verifyImage, workspaceGuard];
