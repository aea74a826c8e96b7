import type { ParamRule } from '../rules.ts';
import { bool, enumOf, integer } from './scalars.ts';
import { dnsLabel, k8sName } from './dns.ts';
import { gitSha } from './git-sha.ts';
import { httpsUrl } from './https-url.ts';
import { imageReference, imageTag } from './image.ts';
import type { RegexEngine } from '../regex/linear-pattern.ts';
import { pattern } from './pattern.ts';
import { relativePath } from './relative-path.ts';
import { semver } from './semver.ts';
import { text } from './text.ts';
import type { TypeValidator } from './validator.ts';

export type { TypeValidator } from './validator.ts';

/** What building a validator may need: the regex engine, loaded only for rule sets that hold a regex rule. */
export interface ValidatorTools {
  readonly regexEngine?: RegexEngine | undefined;
}

/**
 * The validator for a rule. Throws a CatalogError (code CONFIG_RULE_*) when
 * the rule itself is unusable, e.g. a pattern RE2 cannot run or an
 * allowedHosts entry that is not a host.
 */
export function validatorFor(rule: ParamRule, tools: ValidatorTools = {}): TypeValidator {
  switch (rule.type) {
    case 'git-sha': return gitSha();
    case 'image-tag': return imageTag();
    case 'image-reference': return imageReference(rule);
    case 'semver': return semver(rule);
    case 'dns-label': return dnsLabel();
    case 'k8s-name': return k8sName();
    case 'relative-path': return relativePath();
    case 'https-url': return httpsUrl(rule);
    case 'enum': return enumOf(rule);
    case 'integer': return integer(rule);
    case 'bool': return bool();
    case 'regex': {
      if (!tools.regexEngine) throw new Error('validatorFor needs the regex engine for a regex rule; compileRuleSet loads it');
      return pattern(rule, tools.regexEngine);
    }
    case 'text': return text(rule);
  }
}
