/** A file an injection will write: a path relative to the credentials workspace and its bytes. */
export interface PlannedFile {
  readonly path: string;
  readonly content: Buffer;
}

/** Where each writer puts its files, relative to the credentials workspace. */
export const OutputPaths = {
  stateDir: '.inject-credentials',
  dockerConfig: 'docker/config.json',
  gitCredentials: 'basic-auth/.git-credentials',
  gitConfig: 'basic-auth/.gitconfig',
  netrc: 'basic-auth/.netrc',
  sshKey: 'ssh/id_credentials',
  sshKnownHosts: 'ssh/known_hosts',
  sshConfig: 'ssh/config',
  filesDir: 'files',
} as const;
