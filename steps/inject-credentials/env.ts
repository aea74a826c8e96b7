import * as z from '../../src/zod.ts';
import { readEnv } from '../../src/step/env.ts';

/**
 * inject-credentials' environment, checked. A module of its own, imported
 * once the arguments are read: zod (about 30 KB to compile) is not loaded
 * for --help or a usage error (issue 15).
 */
export const EnvSchema = z.object({
  CREDENTIALS_DIR: z.string().check(z.minLength(1, 'must be the credentials workspace path')),
  SECRET_SOURCE: z._default(z.enum(['workspace', 'kubernetes-api']), 'workspace'),
  SECRET_DIR: z._default(z.string(), ''),
  SECRET_NAME: z._default(z.string(), ''),
  SECRET_TYPE: z._default(z.string(), ''),
  CREDENTIALS_EXPIRES: z._default(z.string(), '1h'),
  PREVIOUS_INJECTION_DIGEST: z._default(z.string(), ''),
  SSH_KNOWN_HOSTS: z._default(z.string(), ''),
  SSH_USER: z._default(z.string(), 'git'),
  SSH_DIR: z._default(z.string(), '~/.ssh'),
  SERVICE_ACCOUNT_DIR: z.optional(z.string()),
});

export type StepEnv = z.infer<typeof EnvSchema>;

export function readStepEnv(): StepEnv {
  return readEnv(EnvSchema);
}
