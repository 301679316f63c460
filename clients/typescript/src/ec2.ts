// The EC2 fallback (docs/table-contract.md, section 3, "The fallback"): what the scale-up counts today.

import type { RunnerKey } from './key.js';

/** The upstream application tag value of every runner. */
export const RUNNER_APPLICATION = 'github-action-runner';

/** One active runner as a lister returns it: its `ghr:Type` and `ghr:Owner` tags. */
export interface Ec2Runner {
  type?: string | undefined;
  owner?: string | undefined;
}

/**
 * Lists the active (pending or running) runners of one environment: the instances tagged
 * `ghr:Application` = `github-action-runner` and `ghr:environment` = `environment`. Upstream
 * terraform-aws-github-runner's `listEC2Runners` has this shape, so it can be passed as it is.
 * A rejected promise is an EC2 failure (the reader reports it with the cache's reason).
 */
export type ListEc2Runners = (filter: { environment: string }) => Promise<readonly Ec2Runner[]>;

/** The active runners among `runners` whose type and owner are the key's. */
export function countMatchingRunners(runners: readonly Ec2Runner[], key: RunnerKey): number {
  let n = 0;
  for (const runner of runners) {
    if (runner.type === key.type && runner.owner === key.owner) n += 1;
  }
  return n;
}

/** The part of EC2's DescribeInstances input a lister sends (the SDK's DescribeInstancesCommandInput). */
export interface DescribeInstancesInput {
  Filters: { Name: string; Values: string[] }[];
  MaxResults: number;
  NextToken?: string;
}

/** The part of EC2's DescribeInstances answer a lister reads (the SDK's DescribeInstancesCommandOutput). */
export interface DescribeInstancesOutput {
  Reservations?: {
    Instances?: {
      InstanceId?: string | undefined;
      State?: { Name?: string | undefined } | undefined;
      Tags?: { Key?: string | undefined; Value?: string | undefined }[] | undefined;
    }[] | undefined;
  }[] | undefined;
  NextToken?: string | undefined;
}

/** One DescribeInstances call, e.g. `(input) => ec2.send(new DescribeInstancesCommand(input))`. */
export type DescribeInstances = (input: DescribeInstancesInput) => Promise<DescribeInstancesOutput>;

export interface DescribeInstancesListerOptions {
  /** The `ghr:Application` value of a runner; default `github-action-runner`. */
  applicationTag?: string;
  /** Pages followed at most (1000 instances each) before giving up with an error; default 1000. */
  maxPages?: number;
}

/**
 * A ListEc2Runners that sends exactly the contract's fallback request: DescribeInstances with only the
 * filters `instance-state-name` = pending,running and `tag:ghr:environment` = the environment,
 * MaxResults 1000, following NextToken; the application tag, the environment and the state are then
 * checked client-side on each instance (as the C++ reader does). Rejects with `describe`'s error, or with
 * an Error when more than `maxPages` pages come back.
 */
export function describeInstancesLister(
  describe: DescribeInstances,
  options: DescribeInstancesListerOptions = {},
): ListEc2Runners {
  const application = options.applicationTag ?? RUNNER_APPLICATION;
  const maxPages = options.maxPages ?? 1000;
  return async ({ environment }) => {
    const runners: Ec2Runner[] = [];
    let nextToken: string | undefined;
    for (let page = 0; ; page += 1) {
      if (page === maxPages) throw new Error(`DescribeInstances: more than ${maxPages} pages`);
      const input: DescribeInstancesInput = {
        Filters: [
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
          { Name: 'tag:ghr:environment', Values: [environment] },
        ],
        MaxResults: 1000,
      };
      if (nextToken !== undefined) input.NextToken = nextToken;
      const answer = await describe(input);
      for (const reservation of answer.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const state = instance.State?.Name;
          if (state !== 'pending' && state !== 'running') continue;
          const tags = new Map<string, string>();
          for (const tag of instance.Tags ?? []) {
            if (tag.Key !== undefined && tag.Value !== undefined) tags.set(tag.Key, tag.Value);
          }
          if (tags.get('ghr:Application') !== application || tags.get('ghr:environment') !== environment) continue;
          runners.push({ type: tags.get('ghr:Type'), owner: tags.get('ghr:Owner') });
        }
      }
      nextToken = answer.NextToken === '' ? undefined : answer.NextToken;
      if (nextToken === undefined) return runners;
    }
  };
}
