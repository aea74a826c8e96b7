import * as z from '../../src/zod.ts';
import { readEnv } from '../../src/step/env.ts';

/**
 * workspace-guard's environment, checked. A module of its own, imported once
 * the arguments are read: zod (about 30 KB to compile) is not loaded for
 * --help or a usage error (issue 15).
 */
export const EnvSchema = z.object({
  MODE: z.optional(z.enum(['seal', 'verify', 'police', 'scrub'], { message: 'must be seal, verify, police or scrub' })),
  TARGET: z.optional(z.string()),
  RUN_UID: z.optional(z.string()),
  MANIFEST: z.optional(z.string()),
  MANIFEST_DIR: z.optional(z.string()),
  EXPECTED_DIGEST: z.optional(z.string()),
  ALLOW_GLOBS: z.optional(z.string()),
  ALLOWED_UIDS: z.optional(z.string()),
  COMPARE_MTIMES: z.optional(z.enum(['true', 'false', ''], { message: 'must be true or false' })),
  REPORT_DIR: z.optional(z.string()),
  TASK_LABEL: z.optional(z.string().check(z.maxLength(63))),
  WORKSPACE_LABEL: z.optional(z.string().check(z.maxLength(63))),
});

export type StepEnv = z.infer<typeof EnvSchema>;

export function readStepEnv(): StepEnv {
  return readEnv(EnvSchema);
}
