import type { TypeValidator } from './validator.ts';

const NUMBER = '(?:0|[1-9][0-9]*)';
const PRE_ID = '(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^${NUMBER}\\.${NUMBER}\\.${NUMBER}(?:-${PRE_ID}(?:\\.${PRE_ID})*)?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);

/**
 * Semantic Versioning 2.0.0, exactly as its grammar says (no leading zeros
 * in numeric parts). A leading "v" is refused unless the rule sets
 * `allowVPrefix`: "v1.2.3" is a git tag convention, not a version.
 */
export function semver(options: { allowVPrefix?: boolean | undefined }): TypeValidator {
  return {
    maxLength: 256,
    shell: 'word',
    check(value) {
      const version = options.allowVPrefix && value.startsWith('v') ? value.slice(1) : value;
      if (SEMVER.test(version)) return undefined;
      return options.allowVPrefix
        ? 'must be a semantic version such as 1.2.3 or v1.2.3-rc.1 (SemVer 2.0.0)'
        : 'must be a semantic version such as 1.2.3 or 1.2.3-rc.1+build.5 (SemVer 2.0.0, no leading "v")';
    },
  };
}
