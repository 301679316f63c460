#!/usr/bin/env node
// Structural test of the Terraform module modules/runner-count-cache and its examples.
//
// terraform cannot run here, so every .tf file is parsed with a real HCL parser (@cdktf/hcl2json,
// installed under scripts/node) and the interface, wiring and IAM scope are asserted on the parsed
// structure. hcl2json renders expressions as "${...}" strings, types as "${string}", blocks as
// arrays of objects and attributes as plain values; the assertions below are written against that.
//
// Environment:
//   RCC             path of the rcc binary; `$RCC lambda --print-env` lists the environment
//                   variables the function reads (one per line). Required (CTest sets it).
//   RCC_PRINT_ENV_FILE  development fallback used only when RCC is unset: a file with that listing.
//   RCC_SOURCE_DIR  repository root (defaults to three directories above this file).
//
// Exit status 0 when every check passes; 1 with one line per failed check otherwise.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.RCC_SOURCE_DIR || path.join(HERE, '..', '..', '..'));
const MODULE_DIR = path.join(ROOT, 'modules', 'runner-count-cache');
const EXAMPLE_DIRS = {
  basic: path.join(ROOT, 'examples', 'basic'),
  complete: path.join(ROOT, 'examples', 'complete'),
};

const requireFromTools = createRequire(path.join(ROOT, 'scripts', 'node', 'package.json'));
const hcl = requireFromTools('@cdktf/hcl2json');

// ---------------------------------------------------------------------------------------------
// Expectations taken from issue 6 and DESIGN 3/4/7.

// The published interface: names, types, defaults and descriptions exactly as in the issue table.
const PUBLISHED_INPUTS = {
  prefix: { description: 'The prefix used for naming resources', type: '${string}', required: true },
  environment_filter: {
    description: 'The environment tag value to filter EC2 instances', type: '${string}', required: true,
  },
  tags: { description: 'Map of tags to add to resources', type: '${map(string)}', default: {} },
  kms_key_arn: { description: 'Optional CMK Key ARN for DynamoDB encryption', type: '${string}', default: null },
  cache_stale_threshold_ms: { description: 'Max age before cache is considered stale', type: '${number}', default: 60000 },
  ttl_seconds: { description: 'TTL for DynamoDB items in seconds', type: '${number}', default: 86400 },
};

// The further inputs the issue asks for (all optional), plus the ones this module adds.
const EXTRA_INPUTS = [
  'lambda_zip', 'lambda_s3_bucket', 'lambda_s3_key', 'lambda_s3_object_version', 'lambda_architecture',
  'lambda_memory_size', 'lambda_timeout', 'reconcile_interval_minutes', 'log_level', 'logging_retention_in_days',
  'logging_kms_key_id', 'role_path', 'role_permissions_boundary', 'lambda_subnet_ids', 'lambda_security_group_ids',
  'tracing_mode', 'point_in_time_recovery', 'alarm_sns_topic_arns', 'metrics_namespace',
  'lambda_maximum_retry_attempts', 'lambda_maximum_event_age_in_seconds', 'deletion_protection_enabled',
];

const CLOUDWATCH_RETENTION_DAYS = [0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
  2192, 2557, 2922, 3288, 3653];

// Inputs that must carry a validation block, with fragments their conditions must contain.
const VALIDATED_INPUTS = {
  prefix: ['regex('],
  environment_filter: ['regex('],
  kms_key_arn: [':kms:'],
  cache_stale_threshold_ms: ['> 0'],
  ttl_seconds: ['> 0'],
  lambda_zip: ['.zip'],
  lambda_s3_bucket: ['regex('],
  lambda_s3_key: [],
  lambda_s3_object_version: [],
  lambda_architecture: ['"arm64"', '"x86_64"'],
  lambda_memory_size: ['>= 128', '<= 10240'],
  lambda_timeout: ['>= 1', '<= 900'],
  lambda_maximum_retry_attempts: ['>= 0', '<= 2'],
  lambda_maximum_event_age_in_seconds: ['>= 60', '<= 21600'],
  reconcile_interval_minutes: ['>= 1', '<= 1440'],
  log_level: ['"debug"', '"info"', '"warn"', '"error"'],
  metrics_namespace: ['AWS/'],
  logging_retention_in_days: CLOUDWATCH_RETENTION_DAYS.map(String),
  logging_kms_key_id: [':kms:'],
  role_path: ['regex('],
  role_permissions_boundary: [':iam::'],
  lambda_subnet_ids: ['subnet-'],
  lambda_security_group_ids: ['sg-'],
  alarm_sns_topic_arns: [':sns:'],
  tracing_mode: ['"Active"', '"PassThrough"'],
};

const OUTPUTS = {
  dynamodb_table: ['arn', 'name'],
  lambda_function: ['arn', 'name'],
  eventbridge_rule: ['arn', 'name'],
  cache_config: ['RECONCILE_INTERVAL_S', 'RUNNER_COUNT_CACHE_INDEX_NAME', 'RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS', 'RUNNER_COUNT_CACHE_TABLE_NAME'],
  lambda_role: ['arn', 'name'],
  dead_letter_queue: ['arn', 'name', 'url'],
  scale_up_policy_json: null, // a string, not an object
};

const EC2_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];
const EXPECTED_EVENT_PATTERN = {
  source: ['aws.ec2'],
  'detail-type': ['EC2 Instance State-change Notification'],
  detail: { state: EC2_STATES },
};

// The only statements allowed to use Resource "*" besides ec2:DescribeInstances: each lives alone
// in a policy document created only when its feature is on, guarded by the given local.
const STAR_EXCEPTIONS = [
  {
    feature: 'X-Ray tracing',
    actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    guardLocal: 'tracing_enabled',
    guardDefinition: '${var.tracing_mode != null}',
  },
  {
    feature: 'VPC networking',
    actions: ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses'],
    guardLocal: 'vpc_enabled',
    guardDefinition: '${length(var.lambda_subnet_ids) > 0}',
  },
];

const COUNTER_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan',
  'dynamodb:UpdateItem'];

// Resource types of this module that accept no tags; every other type must be tagged from var.tags.
const UNTAGGABLE_TYPES = new Set(['aws_lambda_permission', 'aws_cloudwatch_event_target', 'aws_iam_role_policy',
  'aws_lambda_function_event_invoke_config', 'aws_sqs_queue_policy']);
const TAGGABLE_TYPES = new Set(['aws_dynamodb_table', 'aws_lambda_function', 'aws_cloudwatch_log_group',
  'aws_cloudwatch_event_rule', 'aws_sqs_queue', 'aws_cloudwatch_metric_alarm', 'aws_iam_role']);

const MODULE_META_ARGS = new Set(['source', 'version', 'providers', 'depends_on', 'count', 'for_each']);

// ---------------------------------------------------------------------------------------------
// Reporting.

const failures = [];
let checks = 0;

function check(condition, message) {
  checks += 1;
  if (!condition) failures.push(message);
  return Boolean(condition);
}

function section(name, fn) {
  return Promise.resolve()
    .then(fn)
    .catch((e) => failures.push(`${name}: the check itself failed: ${e && e.stack ? e.stack : e}`));
}

const fmt = (v) => JSON.stringify(v);
const sorted = (a) => [...a].sort();
const setEqual = (a, b) => isDeepStrictEqual(sorted(new Set(a)), sorted(new Set(b)));

// ---------------------------------------------------------------------------------------------
// Parsing.

// Parses every .tf file of dir and merges them: {variable: {name: body}, resource: {type: {name: body}},
// data: {type: {name: body}}, output: {name: body}, module: {name: body}, locals: {name: expr},
// terraform: [body...], provider: {name: [body...]}, files: [names], fileOf: {key: file}}.
async function parseDir(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  const merged = {
    dir, files, variable: {}, resource: {}, data: {}, output: {}, module: {}, locals: {}, terraform: [],
    provider: {}, fileOf: {}, raw: {},
  };
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    let parsed;
    try {
      parsed = await hcl.parse(file, text);
    } catch (e) {
      check(false, `${path.relative(ROOT, path.join(dir, file))}: HCL does not parse: ${e.message || e}`);
      continue;
    }
    merged.raw[file] = parsed;
    for (const [kind, value] of Object.entries(parsed)) {
      if (kind === 'variable' || kind === 'output' || kind === 'module') {
        for (const [name, bodies] of Object.entries(value)) {
          check(!(name in merged[kind]) && bodies.length === 1, `${rel(dir, file)}: ${kind} "${name}" is declared more than once`);
          merged[kind][name] = bodies[0];
          merged.fileOf[`${kind}.${name}`] = file;
        }
      } else if (kind === 'resource' || kind === 'data') {
        for (const [type, byName] of Object.entries(value)) {
          merged[kind][type] ??= {};
          for (const [name, bodies] of Object.entries(byName)) {
            check(!(name in merged[kind][type]) && bodies.length === 1, `${rel(dir, file)}: ${kind} ${type}.${name} is declared more than once`);
            merged[kind][type][name] = bodies[0];
            merged.fileOf[`${kind}.${type}.${name}`] = file;
          }
        }
      } else if (kind === 'locals') {
        for (const block of value) {
          for (const [name, expr] of Object.entries(block)) {
            check(!(name in merged.locals), `${rel(dir, file)}: local "${name}" is defined more than once`);
            merged.locals[name] = expr;
          }
        }
      } else if (kind === 'terraform') {
        merged.terraform.push(...value);
      } else if (kind === 'provider') {
        for (const [name, bodies] of Object.entries(value)) (merged.provider[name] ??= []).push(...bodies);
      } else {
        check(false, `${rel(dir, file)}: unexpected top-level "${kind}"`);
      }
    }
  }
  return merged;
}

function rel(dir, file) {
  return path.relative(ROOT, path.join(dir, file));
}

// Every string anywhere inside value.
function* strings(value) {
  if (typeof value === 'string') {
    yield value;
  } else if (Array.isArray(value)) {
    for (const v of value) yield* strings(v);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      yield k;
      yield* strings(v);
    }
  }
}

function references(value, prefix) {
  const re = new RegExp(`(?<![A-Za-z0-9_.])${prefix.replace('.', '\\.')}([A-Za-z_][A-Za-z0-9_-]*)`, 'g');
  const found = new Set();
  for (const s of strings(value)) for (const m of s.matchAll(re)) found.add(m[1]);
  return found;
}

// The parts of a configuration that may use variables and locals: everything except the
// variable declarations themselves (a variable used only in its own validation is unused).
function usingParts(cfg) {
  return [cfg.resource, cfg.data, cfg.output, cfg.module, cfg.locals, cfg.provider, cfg.terraform];
}

// Replaces ${local.x} by the literal value of local x when that value is a plain string.
function resolveLocals(cfg, s) {
  if (typeof s !== 'string') return s;
  return s.replace(/\$\{local\.([A-Za-z_][A-Za-z0-9_-]*)\}/g, (whole, name) => {
    const v = cfg.locals[name];
    return typeof v === 'string' && !v.includes('${') ? v : whole;
  });
}

function only(cfg, kind, type) {
  const byName = cfg[kind][type] || {};
  const names = Object.keys(byName);
  check(names.length === 1, `module: expected exactly one ${kind === 'data' ? 'data ' : ''}${type}, found ${names.length} (${names.join(', ')})`);
  return names.length ? [names[0], byName[names[0]]] : [undefined, {}];
}

const block = (body, name) => (Array.isArray(body?.[name]) ? body[name] : []);

// The statements of an aws_iam_policy_document body: static ones and dynamic ones' content.
function statementsOf(doc) {
  const out = block(doc, 'statement').map((s) => ({ statement: s, dynamicForEach: null }));
  for (const dyn of block(doc.dynamic, 'statement')) {
    for (const content of block(dyn, 'content')) out.push({ statement: content, dynamicForEach: dyn.for_each });
  }
  return out;
}

// jsonencode({...}) -> the object, parsed as HCL by hcl2json.
async function decodeJsonencode(expr) {
  const m = /^\$\{jsonencode\(([\s\S]*)\)\}$/.exec(expr);
  if (!m) return undefined;
  const parsed = await hcl.parse('event_pattern.tf', `value = ${m[1]}\n`);
  return parsed.value;
}

// ---------------------------------------------------------------------------------------------
// rcc lambda --print-env.

function functionEnvNamesFromCode() {
  let text;
  let origin;
  if (process.env.RCC) {
    origin = `${process.env.RCC} lambda --print-env`;
    const r = spawnSync(process.env.RCC, ['lambda', '--print-env'], { encoding: 'utf8', timeout: 20000 });
    if (r.error) {
      check(false, `could not run \`${origin}\`: ${r.error.message}`);
      return null;
    }
    if (r.status !== 0) {
      check(false, `\`${origin}\` exited with status ${r.status} (the subcommand must exist and print the ` +
        `environment variables the function reads, one per line): ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
      return null;
    }
    text = r.stdout;
  } else if (process.env.RCC_PRINT_ENV_FILE) {
    origin = `RCC_PRINT_ENV_FILE=${process.env.RCC_PRINT_ENV_FILE}`;
    text = fs.readFileSync(process.env.RCC_PRINT_ENV_FILE, 'utf8');
  } else {
    check(false, 'RCC is not set: the test needs the rcc binary to list the environment variables the function reads');
    return null;
  }
  const names = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  check(names.length > 0, `${origin} printed no variable names`);
  for (const n of names) check(/^[A-Z][A-Z0-9_]*$/.test(n), `${origin} printed "${n}", which is not an environment variable name`);
  check(new Set(names).size === names.length, `${origin} lists a name twice: ${fmt(names)}`);
  return { names, origin };
}

// ---------------------------------------------------------------------------------------------
// Checks on the module.

function checkVersions(cfg, where) {
  const tf = cfg.terraform;
  check(tf.length === 1, `${where}: expected one terraform block, found ${tf.length}`);
  const t = tf[0] || {};
  check(t.required_version === '>= 1.3.0', `${where}: required_version is ${fmt(t.required_version)}, expected ">= 1.3.0"`);
  const aws = block(t, 'required_providers')[0]?.aws;
  check(aws?.source === 'hashicorp/aws', `${where}: required_providers.aws.source is ${fmt(aws?.source)}, expected "hashicorp/aws"`);
  check(aws?.version === '>= 5.27', `${where}: required_providers.aws.version is ${fmt(aws?.version)}, expected the lower bound ">= 5.27" only`);
}

function checkInputs(cfg) {
  const vars = cfg.variable;
  for (const [name, want] of Object.entries(PUBLISHED_INPUTS)) {
    const v = vars[name];
    if (!check(v, `variables: published input "${name}" is missing`)) continue;
    check(v.description === want.description, `variables: "${name}" description is ${fmt(v.description)}, the issue publishes ${fmt(want.description)}`);
    check(v.type === want.type, `variables: "${name}" type is ${fmt(v.type)}, expected ${fmt(want.type)}`);
    if (want.required) {
      check(!('default' in v), `variables: "${name}" is a required input and must have no default (has ${fmt(v.default)})`);
    } else {
      check('default' in v && isDeepStrictEqual(v.default, want.default), `variables: "${name}" default is ${'default' in v ? fmt(v.default) : 'absent'}, expected ${fmt(want.default)}`);
    }
  }
  for (const name of EXTRA_INPUTS) {
    const v = vars[name];
    if (!check(v, `variables: input "${name}" is missing`)) continue;
    check(typeof v.description === 'string' && v.description.length > 10, `variables: "${name}" has no real description`);
    check(typeof v.type === 'string' && v.type.startsWith('${'), `variables: "${name}" has no type`);
    check('default' in v, `variables: "${name}" must be optional (have a default)`);
  }
  check(vars.lambda_architecture?.default === 'arm64', `variables: lambda_architecture default is ${fmt(vars.lambda_architecture?.default)}, expected "arm64"`);
  check(vars.metrics_namespace?.default === 'RunnerCountCache', `variables: metrics_namespace default is ${fmt(vars.metrics_namespace?.default)}, expected "RunnerCountCache"`);
  check(vars.deletion_protection_enabled?.default === false, 'variables: deletion_protection_enabled must default to false');
  for (const [name, v] of Object.entries(vars)) {
    check(typeof v.description === 'string' && v.description.length > 0, `variables: "${name}" has no description`);
    check(typeof v.type === 'string', `variables: "${name}" has no type`);
  }

  for (const [name, fragments] of Object.entries(VALIDATED_INPUTS)) {
    const v = vars[name];
    if (!v) continue; // reported above
    const validations = block(v, 'validation');
    if (!check(validations.length > 0, `variables: "${name}" needs a validation block`)) continue;
    for (const val of validations) {
      check(typeof val.condition === 'string' && val.condition.includes(`var.${name}`), `variables: a validation of "${name}" does not test var.${name}: ${fmt(val.condition)}`);
      check(typeof val.error_message === 'string' && val.error_message.length > 0, `variables: a validation of "${name}" has no error_message`);
    }
    const conditions = validations.map((val) => String(val.condition)).join('\n');
    for (const fragment of fragments) {
      const present = /^\d+$/.test(fragment)
        ? new RegExp(`(?<![0-9])${fragment}(?![0-9])`).test(conditions)
        : conditions.includes(fragment);
      check(present, `variables: the validation of "${name}" does not mention ${fmt(fragment)}: ${fmt(conditions)}`);
    }
    // An enumerated input: its default must be one of the allowed values.
    const m = /contains\((\[[^\]]*\]),\s*var\.([A-Za-z_0-9]+)\)/.exec(conditions);
    if (m && m[2] === name && v.default !== null && v.default !== undefined) {
      const allowed = JSON.parse(m[1]);
      check(allowed.includes(v.default), `variables: default ${fmt(v.default)} of "${name}" is not among its allowed values ${m[1]}`);
      if (name === 'logging_retention_in_days') {
        check(setEqual(allowed, CLOUDWATCH_RETENTION_DAYS), `variables: logging_retention_in_days allows ${m[1]}, CloudWatch Logs accepts exactly ${fmt(CLOUDWATCH_RETENTION_DAYS)}`);
      }
    }
  }
}

// Terraform >= 1.3.0 is the published floor: nothing newer may be used.
const NEWER_THAN_1_3 = {
  functions: ['strcontains', 'plantimestamp', 'templatestring', 'issensitive', 'ephemeralasnull', 'provider::'],
  resourceTypes: ['terraform_data'],
  variableAttributes: ['ephemeral'],
};

function checkTerraformFloor(cfg, where) {
  const all = [...strings([cfg.resource, cfg.data, cfg.output, cfg.module, cfg.locals, cfg.variable, cfg.provider])];
  for (const fn of NEWER_THAN_1_3.functions) {
    const uses = all.filter((s) => s.includes('${') && s.includes(fn.endsWith('::') ? fn : `${fn}(`));
    check(uses.length === 0, `${where}: ${fn} needs a Terraform newer than the published floor 1.3.0: ${fmt(uses)}`);
  }
  for (const type of NEWER_THAN_1_3.resourceTypes) check(!cfg.resource[type], `${where}: ${type} needs Terraform 1.4`);
  for (const [name, v] of Object.entries(cfg.variable)) {
    for (const attr of NEWER_THAN_1_3.variableAttributes) check(!(attr in v), `${where}: variable "${name}" uses "${attr}", newer than Terraform 1.3`);
    // Before Terraform 1.9 a validation may refer only to its own variable.
    for (const val of block(v, 'validation')) {
      const others = [...references([val.condition, val.error_message], 'var.')].filter((r) => r !== name);
      check(others.length === 0, `${where}: the validation of "${name}" refers to ${fmt(others)}; Terraform < 1.9 allows only var.${name} (use a precondition)`);
    }
  }
}

function checkUsage(cfg, where) {
  const used = new Set();
  for (const part of usingParts(cfg)) for (const r of references(part, 'var.')) used.add(r);
  const declared = new Set(Object.keys(cfg.variable));
  for (const u of used) check(declared.has(u), `${where}: var.${u} is used but not declared`);
  for (const d of declared) check(used.has(d), `${where}: variable "${d}" is declared but never used`);

  const usedLocals = new Set();
  for (const part of usingParts(cfg)) for (const r of references(part, 'local.')) usedLocals.add(r);
  for (const u of usedLocals) check(u in cfg.locals, `${where}: local.${u} is used but not defined`);
  for (const d of Object.keys(cfg.locals)) check(usedLocals.has(d), `${where}: local "${d}" is defined but never used`);
}

function checkOutputs(cfg) {
  check(setEqual(Object.keys(cfg.output), Object.keys(OUTPUTS)), `outputs: module outputs are ${fmt(sorted(Object.keys(cfg.output)))}, the issue lists exactly ${fmt(sorted(Object.keys(OUTPUTS)))}`);
  for (const [name, keys] of Object.entries(OUTPUTS)) {
    const o = cfg.output[name];
    if (!o) continue;
    check(typeof o.description === 'string' && o.description.length > 0, `outputs: "${name}" has no description`);
    if (keys) {
      const isObject = o.value && typeof o.value === 'object' && !Array.isArray(o.value);
      check(isObject && setEqual(Object.keys(o.value), keys), `outputs: "${name}" must be an object with keys ${fmt(keys)}, is ${fmt(o.value)}`);
    }
  }
  const [table] = Object.keys(cfg.resource.aws_dynamodb_table || {});
  const cacheConfig = cfg.output.cache_config?.value || {};
  check(cacheConfig.RUNNER_COUNT_CACHE_TABLE_NAME === `\${aws_dynamodb_table.${table}.name}`, `outputs: cache_config.RUNNER_COUNT_CACHE_TABLE_NAME is ${fmt(cacheConfig.RUNNER_COUNT_CACHE_TABLE_NAME)}, expected the table's name`);
  check(cacheConfig.RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS === '${tostring(var.cache_stale_threshold_ms)}', `outputs: cache_config.RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS is ${fmt(cacheConfig.RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS)}, expected tostring(var.cache_stale_threshold_ms)`);
  check(cacheConfig.RECONCILE_INTERVAL_S === '${tostring(var.reconcile_interval_minutes * 60)}', `outputs: cache_config.RECONCILE_INTERVAL_S is ${fmt(cacheConfig.RECONCILE_INTERVAL_S)}, expected the function's RECONCILE_INTERVAL_S`);
  check(resolveLocals(cfg, cacheConfig.RUNNER_COUNT_CACHE_INDEX_NAME) === 'active', `outputs: cache_config.RUNNER_COUNT_CACHE_INDEX_NAME is ${fmt(cacheConfig.RUNNER_COUNT_CACHE_INDEX_NAME)}, expected the index name "active"`);
  check(/^\$\{data\.aws_iam_policy_document\.[A-Za-z_0-9]+\.json\}$/.test(cfg.output.scale_up_policy_json?.value ?? ''), `outputs: scale_up_policy_json must be a policy document's json, is ${fmt(cfg.output.scale_up_policy_json?.value)}`);
}

function checkTable(cfg) {
  const [name, t] = only(cfg, 'resource', 'aws_dynamodb_table');
  if (!name) return;
  const where = `aws_dynamodb_table.${name}`;
  check(t.billing_mode === 'PAY_PER_REQUEST', `${where}: billing_mode is ${fmt(t.billing_mode)}, expected PAY_PER_REQUEST`);
  check(t.hash_key === 'pk', `${where}: hash_key is ${fmt(t.hash_key)}, expected "pk"`);
  check(!('range_key' in t), `${where}: the table has no range key (DESIGN 3)`);
  const attrs = block(t, 'attribute').map((a) => `${a.name}:${a.type}`);
  check(setEqual(attrs, ['pk:S', 'active_key:S']), `${where}: attributes are ${fmt(attrs)}, expected exactly pk:S and active_key:S`);
  const gsis = block(t, 'global_secondary_index');
  check(gsis.length === 1, `${where}: expected exactly one global_secondary_index, found ${gsis.length}`);
  const gsi = gsis[0] || {};
  check(resolveLocals(cfg, gsi.name) === 'active', `${where}: the index is named ${fmt(gsi.name)}, expected "active"`);
  check(gsi.hash_key === 'active_key', `${where}: the index hash_key is ${fmt(gsi.hash_key)}, expected "active_key"`);
  check(gsi.projection_type === 'KEYS_ONLY', `${where}: the index projection_type is ${fmt(gsi.projection_type)}, expected KEYS_ONLY`);
  const ttl = block(t, 'ttl')[0] || {};
  check(ttl.attribute_name === 'ttl' && ttl.enabled === true, `${where}: ttl must be enabled on attribute "ttl", is ${fmt(ttl)}`);
  const sse = block(t, 'server_side_encryption')[0] || {};
  check(sse.kms_key_arn === '${var.kms_key_arn}', `${where}: server_side_encryption.kms_key_arn must be var.kms_key_arn, is ${fmt(sse.kms_key_arn)}`);
  check(typeof sse.enabled === 'string' && sse.enabled.includes('var.kms_key_arn'), `${where}: server_side_encryption.enabled must follow var.kms_key_arn, is ${fmt(sse.enabled)}`);
  const pitr = block(t, 'point_in_time_recovery')[0] || {};
  check(pitr.enabled === '${var.point_in_time_recovery}', `${where}: point_in_time_recovery.enabled must be var.point_in_time_recovery, is ${fmt(pitr.enabled)}`);
  check(t.deletion_protection_enabled === '${var.deletion_protection_enabled}', `${where}: deletion_protection_enabled must be var.deletion_protection_enabled, is ${fmt(t.deletion_protection_enabled)}`);
}

function checkFunction(cfg, env) {
  const [name, f] = only(cfg, 'resource', 'aws_lambda_function');
  if (!name) return;
  const where = `aws_lambda_function.${name}`;
  check(f.runtime === 'provided.al2023', `${where}: runtime is ${fmt(f.runtime)}, expected provided.al2023`);
  check(f.handler === 'bootstrap', `${where}: handler is ${fmt(f.handler)}, expected bootstrap`);
  check(isDeepStrictEqual(f.architectures, ['${var.lambda_architecture}']), `${where}: architectures is ${fmt(f.architectures)}, expected [var.lambda_architecture]`);
  check(f.memory_size === '${var.lambda_memory_size}', `${where}: memory_size must be var.lambda_memory_size`);
  check(f.timeout === '${var.lambda_timeout}', `${where}: timeout must be var.lambda_timeout`);
  check(f.s3_bucket === '${var.lambda_s3_bucket}' && f.s3_key === '${var.lambda_s3_key}' && f.s3_object_version === '${var.lambda_s3_object_version}', `${where}: s3_bucket/s3_key/s3_object_version must come from the lambda_s3_* inputs`);
  check(typeof f.filename === 'string' && f.filename.includes('local.lambda_zip'), `${where}: filename must be local.lambda_zip when S3 is not used, is ${fmt(f.filename)}`);
  const hash = String(f.source_code_hash ?? '');
  check(hash.includes('filebase64sha256(') && hash.includes('fileexists('), `${where}: source_code_hash must be filebase64sha256 of the local zip, guarded by fileexists: ${fmt(hash)}`);
  check(typeof cfg.locals.lambda_zip === 'string' && cfg.locals.lambda_zip.includes('${path.module}/../../build/lambda-package/runner-count-cache-${var.lambda_architecture}.zip'), `locals: lambda_zip must default to \${path.module}/../../build/lambda-package/runner-count-cache-\${var.lambda_architecture}.zip, is ${fmt(cfg.locals.lambda_zip)}`);
  const pre = block(block(f, 'lifecycle')[0], 'precondition').map((p) => String(p.condition));
  check(pre.some((c) => c.includes('var.lambda_zip') && c.includes('var.lambda_s3_bucket')), `${where}: a precondition must reject lambda_zip together with lambda_s3_bucket`);
  check(pre.some((c) => c.includes('var.lambda_s3_bucket') && c.includes('var.lambda_s3_key')), `${where}: a precondition must require lambda_s3_bucket and lambda_s3_key together`);
  check(pre.some((c) => c.includes('fileexists(')), `${where}: a precondition must report a missing local zip`);
  check(pre.some((c) => c.includes('var.lambda_subnet_ids') && c.includes('var.lambda_security_group_ids')), `${where}: a precondition must require subnets and security groups together`);

  const vpc = block(f.dynamic, 'vpc_config')[0];
  check(vpc && String(vpc.for_each).includes('local.vpc_enabled'), `${where}: vpc_config must be a dynamic block enabled by local.vpc_enabled`);
  const tracing = block(f.dynamic, 'tracing_config')[0];
  check(tracing && String(tracing.for_each).includes('local.tracing_enabled'), `${where}: tracing_config must be a dynamic block enabled by local.tracing_enabled`);

  const vars = block(f, 'environment')[0]?.variables;
  if (!check(vars && typeof vars === 'object', `${where}: environment.variables must be a literal map`)) return;
  const moduleNames = Object.keys(vars);
  if (env) {
    const missing = env.names.filter((n) => !moduleNames.includes(n));
    const extra = moduleNames.filter((n) => !env.names.includes(n));
    check(missing.length === 0 && extra.length === 0, `${where}: environment variables differ from \`${env.origin}\`: missing in the module ${fmt(missing)}, set by the module but not read by the code ${fmt(extra)}`);
  }
  check(vars.RECONCILE_INTERVAL_S === '${tostring(var.reconcile_interval_minutes * 60)}', `${where}: RECONCILE_INTERVAL_S must be reconcile_interval_minutes * 60 seconds, is ${fmt(vars.RECONCILE_INTERVAL_S)}`);
  check(vars.ENVIRONMENT_FILTER === '${var.environment_filter}', `${where}: ENVIRONMENT_FILTER must be var.environment_filter`);
  check(vars.RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS === '${tostring(var.cache_stale_threshold_ms)}', `${where}: RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS must be var.cache_stale_threshold_ms`);
  check(vars.TTL_SECONDS === '${tostring(var.ttl_seconds)}', `${where}: TTL_SECONDS must be var.ttl_seconds`);
  check(vars.LOG_LEVEL === '${var.log_level}', `${where}: LOG_LEVEL must be var.log_level`);
  check(vars.METRICS_NAMESPACE === '${var.metrics_namespace}', `${where}: METRICS_NAMESPACE must be var.metrics_namespace`);
  const [table] = Object.keys(cfg.resource.aws_dynamodb_table || {});
  check(vars.RUNNER_COUNT_CACHE_TABLE_NAME === `\${aws_dynamodb_table.${table}.name}`, `${where}: RUNNER_COUNT_CACHE_TABLE_NAME must be the table's name`);

  const [logName, log] = only(cfg, 'resource', 'aws_cloudwatch_log_group');
  if (logName) {
    check(log.name === `/aws/lambda/${f.function_name}`, `aws_cloudwatch_log_group.${logName}: name is ${fmt(log.name)}, expected "/aws/lambda/" + the function name ${fmt(f.function_name)}`);
    check(log.retention_in_days === '${var.logging_retention_in_days}', `aws_cloudwatch_log_group.${logName}: retention_in_days must be var.logging_retention_in_days`);
    check(log.kms_key_id === '${var.logging_kms_key_id}', `aws_cloudwatch_log_group.${logName}: kms_key_id must be var.logging_kms_key_id`);
    check((f.depends_on || []).includes(`\${aws_cloudwatch_log_group.${logName}}`), `${where}: must depend on its log group so Lambda never creates an unmanaged one`);
  }

  check(cfg.locals.vpc_enabled === '${length(var.lambda_subnet_ids) > 0}', `locals: vpc_enabled is ${fmt(cfg.locals.vpc_enabled)}`);
  check(cfg.locals.tracing_enabled === '${var.tracing_mode != null}', `locals: tracing_enabled is ${fmt(cfg.locals.tracing_enabled)}`);
}

function checkAsyncFailurePath(cfg) {
  const [name, ic] = only(cfg, 'resource', 'aws_lambda_function_event_invoke_config');
  if (!name) return;
  const where = `aws_lambda_function_event_invoke_config.${name}`;
  check(ic.maximum_retry_attempts === '${var.lambda_maximum_retry_attempts}', `${where}: maximum_retry_attempts must be set from var.lambda_maximum_retry_attempts`);
  check(ic.maximum_event_age_in_seconds === '${var.lambda_maximum_event_age_in_seconds}', `${where}: maximum_event_age_in_seconds must be set from var.lambda_maximum_event_age_in_seconds`);
  check((ic.depends_on || []).some((d) => d.startsWith('${aws_iam_role_policy.')), `${where}: must depend on the role policy (Lambda rejects a destination the role cannot send to)`);
  const dest = block(block(ic, 'destination_config')[0], 'on_failure')[0]?.destination;
  const m = /^\$\{aws_sqs_queue\.([A-Za-z_0-9]+)\.arn\}$/.exec(dest ?? '');
  if (!check(m, `${where}: destination_config.on_failure.destination must be an SQS queue of the module, is ${fmt(dest)}`)) return;
  const queue = cfg.resource.aws_sqs_queue?.[m[1]];
  if (!check(queue, `${where}: queue aws_sqs_queue.${m[1]} does not exist`)) return;
  check(queue.sqs_managed_sse_enabled === true || typeof queue.kms_master_key_id === 'string', `aws_sqs_queue.${m[1]}: the dead-letter queue must be encrypted (SSE-SQS or KMS)`);

  const alarms = Object.entries(cfg.resource.aws_cloudwatch_metric_alarm || {});
  const alarm = alarms.find(([, a]) => a.dimensions?.QueueName === `\${aws_sqs_queue.${m[1]}.name}`);
  if (!check(alarm, `module: no aws_cloudwatch_metric_alarm watches the dead-letter queue aws_sqs_queue.${m[1]}`)) return;
  const [alarmName, a] = alarm;
  check(a.namespace === 'AWS/SQS' && a.metric_name === 'ApproximateNumberOfMessagesVisible', `aws_cloudwatch_metric_alarm.${alarmName}: must watch AWS/SQS ApproximateNumberOfMessagesVisible, watches ${a.namespace}/${a.metric_name}`);
  check(a.alarm_actions === '${var.alarm_sns_topic_arns}', `aws_cloudwatch_metric_alarm.${alarmName}: alarm_actions must be var.alarm_sns_topic_arns`);
}

async function checkEvents(cfg) {
  const rules = Object.entries(cfg.resource.aws_cloudwatch_event_rule || {});
  const patterned = rules.filter(([, r]) => 'event_pattern' in r);
  const scheduled = rules.filter(([, r]) => 'schedule_expression' in r);
  check(patterned.length === 1, `events: expected one rule with an event_pattern, found ${patterned.length}`);
  check(scheduled.length === 1, `events: expected one schedule rule, found ${scheduled.length}`);
  check(rules.length === 2, `events: expected exactly two rules, found ${rules.length}`);
  for (const [name, r] of rules) {
    check(!('event_bus_name' in r), `aws_cloudwatch_event_rule.${name}: must use the default bus`);
    check(!('is_enabled' in r), `aws_cloudwatch_event_rule.${name}: is_enabled is deprecated in the AWS provider; leave the rule enabled by default`);
  }
  if (patterned.length === 1) {
    const [name, r] = patterned[0];
    const pattern = await decodeJsonencode(r.event_pattern);
    check(pattern !== undefined, `aws_cloudwatch_event_rule.${name}: event_pattern must be jsonencode({...}), is ${fmt(r.event_pattern)}`);
    if (pattern !== undefined) {
      const normalize = (p) => ({ ...p, detail: { ...p.detail, state: sorted(p.detail?.state ?? []) } });
      check(isDeepStrictEqual(normalize(pattern), normalize(EXPECTED_EVENT_PATTERN)), `aws_cloudwatch_event_rule.${name}: event pattern is ${fmt(pattern)}, expected ${fmt(EXPECTED_EVENT_PATTERN)}`);
      check(new Set(pattern.detail?.state ?? []).size === (pattern.detail?.state ?? []).length, `aws_cloudwatch_event_rule.${name}: a state is listed twice`);
    }
    check(cfg.output.eventbridge_rule?.value?.arn === `\${aws_cloudwatch_event_rule.${name}.arn}`, `outputs: eventbridge_rule must be the EC2 state-change rule aws_cloudwatch_event_rule.${name}`);
  }
  if (scheduled.length === 1) {
    const [name, r] = scheduled[0];
    check(r.schedule_expression === 'rate(1 minute)', `aws_cloudwatch_event_rule.${name}: schedule_expression is ${fmt(r.schedule_expression)}, expected "rate(1 minute)"`);
  }
  const [fn] = Object.keys(cfg.resource.aws_lambda_function || {});
  const targets = Object.entries(cfg.resource.aws_cloudwatch_event_target || {});
  const permissions = Object.entries(cfg.resource.aws_lambda_permission || {});
  check(permissions.length === rules.length, `events: expected one aws_lambda_permission per rule (${rules.length}), found ${permissions.length}`);
  for (const [name] of rules) {
    const ruleTargets = targets.filter(([, t]) => t.rule === `\${aws_cloudwatch_event_rule.${name}.name}`);
    check(ruleTargets.length === 1, `events: rule ${name} needs exactly one target, has ${ruleTargets.length}`);
    for (const [tName, t] of ruleTargets) {
      check(t.arn === `\${aws_lambda_function.${fn}.arn}`, `aws_cloudwatch_event_target.${tName}: must target the function, targets ${fmt(t.arn)}`);
      check(/^\$\{aws_sqs_queue\.[A-Za-z_0-9]+\.arn\}$/.test(block(t, 'dead_letter_config')[0]?.arn ?? ''), `aws_cloudwatch_event_target.${tName}: undeliverable events must go to the dead-letter queue`);
    }
    const rulePerms = permissions.filter(([, p]) => p.source_arn === `\${aws_cloudwatch_event_rule.${name}.arn}`);
    check(rulePerms.length === 1, `events: rule ${name} needs exactly one aws_lambda_permission with source_arn = its ARN, has ${rulePerms.length}`);
    for (const [pName, p] of rulePerms) {
      check(p.principal === 'events.amazonaws.com' && p.action === 'lambda:InvokeFunction', `aws_lambda_permission.${pName}: must allow events.amazonaws.com to lambda:InvokeFunction`);
      check(String(p.function_name).includes(`aws_lambda_function.${fn}.`), `aws_lambda_permission.${pName}: must be on the counter function`);
    }
  }
  for (const [pName, p] of permissions) {
    check(typeof p.source_arn === 'string' && p.source_arn.length > 0, `aws_lambda_permission.${pName}: must be scoped by source_arn`);
  }
}

function checkIam(cfg) {
  const docs = cfg.data.aws_iam_policy_document || {};
  const where = (n) => `data.aws_iam_policy_document.${n}`;

  // Every policy that reaches AWS comes from a policy document checked below.
  for (const type of ['aws_iam_policy', 'aws_iam_role_policy_attachment', 'aws_iam_policy_attachment']) {
    check(!cfg.resource[type], `iam: the module must not use ${type} (an attached or managed policy would escape the statement checks)`);
  }
  const rolePolicies = Object.entries(cfg.resource.aws_iam_role_policy || {});
  const docUse = {};
  for (const [name, rp] of rolePolicies) {
    const m = /^\$\{data\.aws_iam_policy_document\.([A-Za-z_0-9]+)(\[0\])?\.json\}$/.exec(rp.policy ?? '');
    if (!check(m, `aws_iam_role_policy.${name}: policy must be a data.aws_iam_policy_document's json, is ${fmt(rp.policy)}`)) continue;
    docUse[m[1]] = { name, rp };
  }
  const queuePolicies = Object.entries(cfg.resource.aws_sqs_queue_policy || {});
  for (const [name, qp] of queuePolicies) {
    check(/^\$\{data\.aws_iam_policy_document\.[A-Za-z_0-9]+\.json\}$/.test(qp.policy ?? ''), `aws_sqs_queue_policy.${name}: policy must be a policy document's json`);
  }

  for (const [docName, doc] of Object.entries(docs)) {
    const stmts = statementsOf(doc);
    for (const { statement: s, dynamicForEach } of stmts) {
      const label = `${where(docName)} statement ${fmt(s.sid ?? '(no sid)')}`;
      check(!('not_actions' in s) && !('not_resources' in s) && !('not_principals' in s), `${label}: not_actions/not_resources/not_principals are not allowed`);
      check(s.effect === undefined || s.effect === 'Allow', `${label}: effect must be Allow`);
      const actions = Array.isArray(s.actions) ? s.actions : [];
      check(actions.length > 0, `${label}: must list its actions explicitly`);
      for (const a of actions) {
        check(typeof a === 'string' && !a.includes('*') && !a.includes('${'), `${label}: action ${fmt(a)} must be a literal action without wildcard`);
      }
      const resources = Array.isArray(s.resources) ? s.resources : [];
      if (!resources.includes('*')) continue;
      check(resources.length === 1, `${label}: mixes "*" with other resources ${fmt(resources)}`);
      if (isDeepStrictEqual(actions, ['ec2:DescribeInstances'])) continue;
      const exception = STAR_EXCEPTIONS.find((e) => setEqual(actions, e.actions));
      if (!check(exception, `${label}: Resource "*" is only allowed for ec2:DescribeInstances (or the known X-Ray/VPC statements), this statement has ${fmt(actions)}`)) continue;
      const guard = `\${local.${exception.guardLocal} ? 1 : 0}`;
      check(dynamicForEach === null, `${label}: the ${exception.feature} statement must be static inside a document created by count`);
      check(stmts.length === 1, `${where(docName)}: the ${exception.feature} statement must be alone in its document`);
      check(doc.count === guard, `${where(docName)}: the ${exception.feature} statement may only exist when enabled: count must be ${guard}, is ${fmt(doc.count)}`);
      check(cfg.locals[exception.guardLocal] === exception.guardDefinition, `locals: ${exception.guardLocal} must be ${exception.guardDefinition}, is ${fmt(cfg.locals[exception.guardLocal])}`);
      const use = docUse[docName];
      check(use && use.rp.count === guard, `${where(docName)}: the aws_iam_role_policy attaching it must have count ${guard}`);
    }
  }

  // The function's own policy: the table and its index only, logs to its log group, its queue.
  const [table] = Object.keys(cfg.resource.aws_dynamodb_table || {});
  const tableArn = `\${aws_dynamodb_table.${table}.arn}`;
  const [role] = Object.keys(cfg.resource.aws_iam_role || {});
  const roleOf = (rp) => rp.role === `\${aws_iam_role.${role}.name}` || rp.role === `\${aws_iam_role.${role}.id}`;
  for (const [name, rp] of rolePolicies) check(roleOf(rp), `aws_iam_role_policy.${name}: must be attached to the function's role`);
  const counterDocs = Object.keys(docUse).filter((d) => !docs[d]?.count);
  check(counterDocs.length === 1, `iam: expected one unconditional role policy for the function, found ${fmt(counterDocs)}`);
  const counterStmts = counterDocs.length ? statementsOf(docs[counterDocs[0]]).map((x) => x.statement) : [];
  const allActions = counterStmts.flatMap((s) => s.actions || []);
  const dynamoStmts = counterStmts.filter((s) => (s.actions || []).some((a) => a.startsWith('dynamodb:')));
  check(setEqual(dynamoStmts.flatMap((s) => s.actions), COUNTER_TABLE_ACTIONS), `iam: the function's DynamoDB actions are ${fmt(dynamoStmts.flatMap((s) => s.actions))}, expected exactly ${fmt(COUNTER_TABLE_ACTIONS)}`);
  for (const s of dynamoStmts) {
    check(setEqual(s.resources || [], [tableArn, `${tableArn}/index/*`]), `iam: DynamoDB statement ${fmt(s.sid)} must be on the table and its indexes only, is on ${fmt(s.resources)}`);
  }
  check(allActions.includes('ec2:DescribeInstances'), 'iam: the function needs ec2:DescribeInstances');
  const logStmt = counterStmts.find((s) => (s.actions || []).includes('logs:PutLogEvents'));
  const [logGroup] = Object.keys(cfg.resource.aws_cloudwatch_log_group || {});
  check(logStmt && isDeepStrictEqual(logStmt.resources, [`\${aws_cloudwatch_log_group.${logGroup}.arn}:*`]), `iam: logs:PutLogEvents must be on the function's own log group only, is on ${fmt(logStmt?.resources)}`);
  check(!allActions.includes('logs:CreateLogGroup'), 'iam: the module creates the log group; the function must not be allowed to create log groups');
  const sqsStmt = counterStmts.find((s) => (s.actions || []).includes('sqs:SendMessage'));
  check(sqsStmt && sqsStmt.resources?.length === 1 && /^\$\{aws_sqs_queue\.[A-Za-z_0-9]+\.arn\}$/.test(sqsStmt.resources[0]), `iam: sqs:SendMessage must be on the module's queue only, is on ${fmt(sqsStmt?.resources)}`);
  const kmsStmt = statementsOf(docs[counterDocs[0]] || {}).find((x) => (x.statement.actions || []).some((a) => a.startsWith('kms:')));
  check(kmsStmt && String(kmsStmt.dynamicForEach).includes('var.kms_key_arn') && isDeepStrictEqual(kmsStmt.statement.resources, ['${statement.value}']), 'iam: kms permissions must exist only when kms_key_arn is given, on that key only');

  const [roleName, r] = only(cfg, 'resource', 'aws_iam_role');
  if (roleName) {
    check(r.path === '${var.role_path}', `aws_iam_role.${roleName}: path must be var.role_path`);
    check(r.permissions_boundary === '${var.role_permissions_boundary}', `aws_iam_role.${roleName}: permissions_boundary must be var.role_permissions_boundary`);
  }

  // The read policy a scale-up attaches.
  const m = /^\$\{data\.aws_iam_policy_document\.([A-Za-z_0-9]+)\.json\}$/.exec(cfg.output.scale_up_policy_json?.value ?? '');
  const scaleUp = m && docs[m[1]];
  if (check(scaleUp, 'outputs: scale_up_policy_json does not point at a policy document of the module')) {
    const stmts = statementsOf(scaleUp).map((x) => x.statement);
    const grants = stmts.flatMap((s) => (s.actions || []).flatMap((a) => (s.resources || []).map((res) => `${a} on ${resolveLocals(cfg, res)}`)));
    const dynamo = grants.filter((g) => g.startsWith('dynamodb:'));
    check(setEqual(dynamo, [`dynamodb:GetItem on ${tableArn}`, `dynamodb:Query on ${tableArn}/index/active`]), `iam: scale_up_policy_json grants ${fmt(dynamo)}, expected exactly GetItem on the table and Query on its "active" index`);
    const others = grants.filter((g) => !g.startsWith('dynamodb:') && !g.startsWith('kms:'));
    check(others.length === 0, `iam: scale_up_policy_json must grant nothing but the cache reads (and the CMK when given), also grants ${fmt(others)}`);
  }
}

function checkTagsAndNames(cfg) {
  const nameLocal = cfg.locals.name;
  check(typeof nameLocal === 'string' && nameLocal.startsWith('${var.prefix}'), `locals: name must start with var.prefix, is ${fmt(nameLocal)}`);
  for (const [type, byName] of Object.entries(cfg.resource)) {
    for (const [name, r] of Object.entries(byName)) {
      const where = `${type}.${name}`;
      if (TAGGABLE_TYPES.has(type)) {
        check(typeof r.tags === 'string' && r.tags.includes('var.tags'), `${where}: tags must be merged from var.tags, are ${fmt(r.tags)}`);
      } else {
        check(UNTAGGABLE_TYPES.has(type), `${where}: resource type ${type} is not classified as taggable or untaggable in this test`);
      }
      for (const attr of ['name', 'function_name', 'alarm_name']) {
        if (!(attr in r) || (attr === 'function_name' && type !== 'aws_lambda_function')) continue;
        if (type === 'aws_iam_role_policy' || (attr === 'name' && type === 'aws_cloudwatch_log_group')) {
          check(String(r[attr]).includes('${local.name}'), `${where}: ${attr} must be built from the prefix, is ${fmt(r[attr])}`);
          continue;
        }
        check(String(r[attr]).startsWith('${local.name}') || String(r[attr]).startsWith('${var.prefix}'), `${where}: ${attr} must start with the prefix, is ${fmt(r[attr])}`);
      }
    }
  }
  const regionUses = [...strings([cfg.resource, cfg.data, cfg.locals, cfg.output])].filter((s) => s.includes('data.aws_region.'));
  check(regionUses.length === 0, `module: uses data.aws_region (its "name" attribute is deprecated in provider 6.x): ${fmt(regionUses)}`);
  check(!cfg.data.aws_region, 'module: must not need data "aws_region"');
}

// ---------------------------------------------------------------------------------------------
// Examples and README.

function moduleBlocks(example) {
  return Object.entries(example.module).filter(([, m]) => path.resolve(example.dir, String(m.source)) === MODULE_DIR);
}

function checkExample(kind, example, mod) {
  const where = `examples/${kind}`;
  for (const f of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf']) {
    check(example.files.includes(f), `${where}: ${f} is missing`);
  }
  checkVersions(example, where);
  checkUsage(example, where);
  checkTerraformFloor(example, where);
  check(example.provider.aws?.length >= 1, `${where}: configures no aws provider`);
  const blocks = moduleBlocks(example);
  check(blocks.length === 1, `${where}: expected one module block whose source is ../../modules/runner-count-cache, found ${blocks.length} (${fmt(Object.values(example.module).map((m) => m.source))})`);
  const declared = Object.keys(mod.variable);
  const required = declared.filter((v) => !('default' in mod.variable[v]));
  for (const [name, m] of blocks) {
    const inputs = Object.keys(m).filter((k) => !MODULE_META_ARGS.has(k));
    for (const i of inputs) check(declared.includes(i), `${where}: module "${name}" sets "${i}", which the module does not declare`);
    for (const r of required) check(inputs.includes(r), `${where}: module "${name}" does not set the required input "${r}"`);
    if (kind === 'complete') {
      const unset = declared.filter((v) => !inputs.includes(v));
      check(unset.length === 0, `${where}: the complete example must set every input; it does not set ${fmt(unset)}`);
    }
    for (const ref of references([example.output, example.resource, example.module], `module.${name}.`)) {
      check(ref in mod.output, `${where}: uses module.${name}.${ref}, which the module does not output`);
    }
  }
  return blocks;
}

async function readmeSnippetModule(readme) {
  const snippets = [...readme.matchAll(/```hcl\n([\s\S]*?)```/g)].map((m) => m[1]);
  const usage = snippets.filter((s) => /module\s+"runner_count_cache"/.test(s));
  check(usage.length >= 1, 'README: no ```hcl snippet with module "runner_count_cache"');
  if (!usage.length) return undefined;
  const parsed = await hcl.parse('README-usage.tf', usage[0]);
  return parsed.module?.runner_count_cache?.[0];
}

// Markdown tables of the README: a list of {header: [...], rows: [[...]]}.
function markdownTables(text) {
  const tables = [];
  let current = null;
  for (const line of text.split('\n')) {
    if (/^\s*\|/.test(line)) {
      const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim());
      if (!current) {
        current = { header: cells, rows: [] };
        tables.push(current);
      } else if (!cells.every((c) => /^:?-{3,}:?$/.test(c))) {
        current.rows.push(cells);
      }
    } else {
      current = null;
    }
  }
  return tables;
}

const cellName = (c) => c.replace(/`/g, '').replace(/<[^>]+>/g, '').trim();

function checkReadme(readme, mod) {
  const tables = markdownTables(readme);
  const inputs = tables.find((t) => ['Name', 'Description', 'Type', 'Default', 'Required'].every((h) => t.header.includes(h)));
  const outputs = tables.find((t) => t !== inputs && t.header[0] === 'Name' && t.header.includes('Description') && !t.header.includes('Type'));
  if (check(inputs, 'README: no inputs table with columns Name | Description | Type | Default | Required')) {
    const col = (h) => inputs.header.indexOf(h);
    const rows = new Map(inputs.rows.map((r) => [cellName(r[col('Name')]), r]));
    check(setEqual([...rows.keys()], Object.keys(mod.variable)), `README: the inputs table lists ${fmt(sorted(rows.keys()))}, the module declares ${fmt(sorted(Object.keys(mod.variable)))}`);
    for (const [name, v] of Object.entries(mod.variable)) {
      const row = rows.get(name);
      if (!row) continue;
      const requiredCell = row[col('Required')];
      check(requiredCell === ('default' in v ? 'no' : 'yes'), `README: input "${name}" Required column is ${fmt(requiredCell)}, expected ${'default' in v ? 'no' : 'yes'}`);
      const type = v.type.replace(/^\$\{|\}$/g, '');
      check(cellName(row[col('Type')]) === type, `README: input "${name}" Type column is ${fmt(row[col('Type')])}, expected ${type}`);
    }
    for (const [name, want] of Object.entries(PUBLISHED_INPUTS)) {
      const row = rows.get(name);
      if (row) check(row[col('Description')] === want.description, `README: published input "${name}" description is ${fmt(row[col('Description')])}, expected ${fmt(want.description)}`);
    }
  }
  if (check(outputs, 'README: no outputs table with columns Name | Description')) {
    const names = outputs.rows.map((r) => cellName(r[0]));
    check(setEqual(names, Object.keys(mod.output)), `README: the outputs table lists ${fmt(sorted(names))}, the module outputs ${fmt(sorted(Object.keys(mod.output)))}`);
  }
  for (const phrase of ['lambda-package', 'lambda-package-arm64', 'build/lambda-package/runner-count-cache-x86_64.zip', 'build/lambda-package/runner-count-cache-arm64.zip',
    'RUNNER_COUNT_CACHE_TABLE_NAME', 'RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS', 'scale_up_policy_json', 'cache_config']) {
    check(readme.includes(phrase), `README: does not mention ${fmt(phrase)}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const env = functionEnvNamesFromCode();
  const mod = await parseDir(MODULE_DIR);
  for (const f of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf', 'iam.tf', 'events.tf']) {
    check(mod.files.includes(f), `module: ${f} is missing`);
  }
  await section('versions', () => checkVersions(mod, 'module'));
  await section('inputs', () => checkInputs(mod));
  await section('usage', () => checkUsage(mod, 'module'));
  await section('terraform floor', () => checkTerraformFloor(mod, 'module'));
  await section('outputs', () => checkOutputs(mod));
  await section('table', () => checkTable(mod));
  await section('function', () => checkFunction(mod, env));
  await section('failure path', () => checkAsyncFailurePath(mod));
  await section('events', () => checkEvents(mod));
  await section('iam', () => checkIam(mod));
  await section('tags and names', () => checkTagsAndNames(mod));

  const examples = {};
  for (const [kind, dir] of Object.entries(EXAMPLE_DIRS)) {
    if (!check(fs.existsSync(dir), `examples/${kind} is missing`)) continue;
    examples[kind] = await parseDir(dir);
    await section(`examples/${kind}`, () => checkExample(kind, examples[kind], mod));
  }

  const readmePath = path.join(MODULE_DIR, 'README.md');
  if (check(fs.existsSync(readmePath), 'README: modules/runner-count-cache/README.md is missing')) {
    const readme = fs.readFileSync(readmePath, 'utf8');
    await section('README', () => checkReadme(readme, mod));
    await section('README snippet', async () => {
      const snippet = await readmeSnippetModule(readme);
      if (!snippet) return;
      check(snippet.source === './modules/runner-count-cache', `README: the usage snippet's source is ${fmt(snippet.source)}, expected "./modules/runner-count-cache" (the issue's snippet, from the repository root)`);
      check(path.resolve(ROOT, snippet.source) === MODULE_DIR, 'README: the usage snippet source does not resolve to the module from the repository root');
      const { source: _s, ...snippetInputs } = snippet;
      const issueInputs = { prefix: 'github-runners', environment_filter: 'production', tags: { Environment: 'production' } };
      check(isDeepStrictEqual(snippetInputs, issueInputs), `README: the usage snippet sets ${fmt(snippetInputs)}, the issue's snippet sets ${fmt(issueInputs)}`);
      const basic = examples.basic && moduleBlocks(examples.basic)[0];
      if (check(basic, 'examples/basic: has no module block for the module')) {
        const { source: _b, ...basicInputs } = basic[1];
        check(isDeepStrictEqual(basicInputs, snippetInputs), `examples/basic: module block ${fmt(basicInputs)} differs from the README snippet ${fmt(snippetInputs)} (only source may differ)`);
      }
    });
  }

  if (failures.length) {
    console.error(`terraform module check: ${failures.length} of ${checks} checks failed`);
    for (const f of failures) console.error(`FAIL ${f}`);
    process.exit(1);
  }
  console.log(`terraform module check: all ${checks} checks passed (${mod.files.length} module files, ` +
    `${Object.keys(mod.variable).length} inputs, ${Object.keys(mod.output).length} outputs, env from ${env.origin})`);
}

await main();
