// The runner key (docs/table-contract.md, section 1): what a scale-up counts under.

/** What a scale-up counts under: the `ghr:environment`, `ghr:Type` and `ghr:Owner` of its runners. */
export interface RunnerKey {
  /** The deployment's environment, upstream's `ENVIRONMENT`. */
  environment: string;
  /** `Org` or `Repo`. */
  type: string;
  /** An org, or `owner/repo`. */
  owner: string;
}

function escapePart(part: string): string {
  return part.replaceAll('%', '%25').replaceAll('#', '%23');
}

/**
 * The key string `<environment>#<type>#<owner>` the table's `active` index holds. Each part has `%`
 * written as `%25` and `#` as `%23` first, so distinct keys give distinct strings; parts without those
 * characters appear verbatim, which makes it upstream's `${environment}#${runnerType}#${runnerOwner}`
 * for every GitHub org and repository name. Does not validate: see runnerKeyProblem().
 */
export function runnerKey(key: RunnerKey): string {
  return `${escapePart(key.environment)}#${escapePart(key.type)}#${escapePart(key.owner)}`;
}

/**
 * Why `key` cannot be counted, or undefined when it can: the environment and the owner must be
 * non-empty and the type `Org` or `Repo` (the C++ reader's validate_runner_key, same messages).
 */
export function runnerKeyProblem(key: RunnerKey): string | undefined {
  if (key.environment === '') return 'environment: empty';
  if (key.type !== 'Org' && key.type !== 'Repo') return `type: want Org or Repo, got "${key.type}"`;
  if (key.owner === '') return 'owner: empty';
  return undefined;
}
