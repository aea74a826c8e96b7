/**
 * The files a basic-auth Secret can be written as. A module of its own:
 * inject-credentials checks its --basic-auth-formats against this list at
 * start-up, without loading the writers (the docker-config writer loads zod).
 */
export const BASIC_AUTH_FORMATS = ['git-credentials', 'netrc', 'docker-config'] as const;
export type BasicAuthFormat = (typeof BASIC_AUTH_FORMATS)[number];

export function isBasicAuthFormat(value: string): value is BasicAuthFormat {
  return (BASIC_AUTH_FORMATS as readonly string[]).includes(value);
}
