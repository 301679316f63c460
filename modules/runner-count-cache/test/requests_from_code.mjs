// Reads the source and prints, as JSON, the AWS requests each part of the code can send, as
// "<action> <resource>" strings (resource: "table", "index/active" or "*"):
//   counter          the counter function: CounterFunction, apply_event, reconcile (src/app, src/core)
//   scale_up_reads   the scale-up's reads: RunnerCountReader (C++) and countActiveRunners (TypeScript)
//   scale_up_writes  registration and slots: register_launches, take/release_slots, registerLaunches, takeSlots
// Derived from the code, not listed by hand:
//   - the DynamoDB operation of each DynamoStore method is the literal passed to call_json/for_each_page
//     in its body (src/aws/dynamo_store.cc); the index is the resource when the body names IndexName;
//   - the Store methods each part calls are the `store.<method>(` calls in its files;
//   - EC2 actions are the `Action=` literals of the EC2 client (src/aws/ec2_query.cc), sent when a file
//     calls describe_instances;
//   - TypeScript: every `new <Op>Command(<builder>(` in clients/typescript/src, the index when the builder
//     names IndexName.
// With `--tftest <module.tftest.hcl>` it prints instead a plan-level Terraform test (that file's mock
// provider and variables, then one run) asserting that the module's policies grant exactly these requests:
// the counter's role its DynamoDB and EC2 requests; scale_up_policy_json the reads' DynamoDB requests;
// scale_up_write_policy_json the writes' (the scale-up's EC2 fallback uses the scale-up role's own
// ec2:DescribeInstances). Logs, SQS and KMS statements are not requests of the code and are not compared.
// Every file of src/app and src/core that calls a Store method must be in one of the parts below or in
// NOT_DEPLOYED, so a new caller cannot go unnoticed.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = process.argv[2];
const tftest = process.argv[3] === '--tftest' ? process.argv[4] : undefined;
if (!root || (process.argv.length > 3 && !tftest)) {
  console.error('usage: requests_from_code.mjs <repository root> [--tftest <module.tftest.hcl>]');
  process.exit(2);
}
const read = (file) => readFileSync(path.join(root, file), 'utf8');

const PARTS = {
  counter: ['src/app/counter_function.cc', 'src/core/counter.cc', 'src/app/reconcile.cc', 'src/core/tag_source.cc'],
  scale_up_reads: ['src/app/reader.cc', 'clients/typescript/src/reader.ts'],
  scale_up_writes: ['src/app/registration.cc', 'src/app/slots.cc', 'clients/typescript/src/registration.ts',
                    'clients/typescript/src/slots.ts'],
};
// Store callers that run only in the rcc CLI, tests or the simulator, never in AWS.
const NOT_DEPLOYED = /(_test|_property|_contract|_backends)\.(cc|h)$|^src\/(cli|sim|testing)\//;

// DynamoStore method -> ["<Op> <resource>", ...]
function storeOperations() {
  const text = read('src/aws/dynamo_store.cc');
  // Every definition at column 0 starts a body; the DynamoStore ones are kept.
  const starts = [...text.matchAll(/^[A-Za-z][^\n;]*?(?:\bDynamoStore::(\w+))?\(/gm)];
  const ops = {};
  starts.forEach((m, i) => {
    if (m[1] === undefined) return;
    const body = text.slice(m.index, i + 1 < starts.length ? starts[i + 1].index : text.length);
    const resource = /\{"IndexName", kActiveIndexName\}/.test(body) ? 'index/active' : 'table';
    const found = [...body.matchAll(/(?:call_json\(client_, |for_each_page\(send, )"(\w+)"/g)].map((c) => `dynamodb:${c[1]} ${resource}`);
    if (found.length > 0) ops[m[1]] = found;
  });
  return ops;
}

function ec2Actions() {
  return [...read('src/aws/ec2_query.cc').matchAll(/Action=(\w+)/g)].map((m) => `ec2:${m[1]} *`);
}

const storeCall = /\b\w*store_?(?:\.|->)(\w+)\(/g;

function cppRequests(file, ops) {
  const text = read(file);
  const out = [];
  for (const m of text.matchAll(storeCall)) {
    if (!(m[1] in ops)) throw new Error(`${file}: Store method ${m[1]} has no DynamoDB operation in dynamo_store.cc`);
    out.push(...ops[m[1]]);
  }
  if (/\bdescribe_instances\(/.test(text)) out.push(...ec2Actions());
  return out;
}

function tsRequests(file) {
  const text = read(file);
  const out = [];
  for (const m of text.matchAll(/new (\w+)Command\((\w+)\(/g)) {
    const builder = text.indexOf(`function ${m[2]}(`);
    if (builder < 0) throw new Error(`${file}: request builder ${m[2]} not found`);
    const next = text.indexOf('\nexport ', builder + 1);
    const body = text.slice(builder, next < 0 ? text.length : next);
    out.push(`dynamodb:${m[1]} ${/IndexName/.test(body) ? 'index/active' : 'table'}`);
  }
  return out;
}

// Every deployed Store caller belongs to a part.
function checkCallers() {
  const listed = new Set(Object.values(PARTS).flat());
  for (const dir of ['src/app', 'src/core']) {
    for (const name of readdirSync(path.join(root, dir))) {
      const file = `${dir}/${name}`;
      if (!/\.(cc|h)$/.test(name) || NOT_DEPLOYED.test(file) || listed.has(file)) continue;
      const calls = [...read(file).matchAll(storeCall)].map((m) => m[1]);
      if (calls.length > 0) throw new Error(`${file} calls Store methods (${calls.join(', ')}) but is in no part of requests_from_code.mjs`);
    }
  }
}

checkCallers();
const ops = storeOperations();
const result = {};
for (const [part, files] of Object.entries(PARTS)) {
  const requests = files.flatMap((file) => (file.endsWith('.ts') ? tsRequests(file) : cppRequests(file, ops)));
  result[part] = [...new Set(requests)].sort();
}

// The sorted "<action> <resource>" list of `policy`'s statements whose actions match `actions`, in HCL.
function granted(policy, actions) {
  const resource = 'r == aws_dynamodb_table.cache.arn ? "table" : trimprefix(r, "${aws_dynamodb_table.cache.arn}/")';
  return `sort(distinct(flatten([for s in jsondecode(${policy}).Statement : [for a in s.Action : ` +
    `[for r in s.Resource : "\${a} \${${resource}}"] if can(regex("${actions}", a))]])))`;
}

function assertion(what, policy, actions, expected) {
  const got = granted(policy, actions);
  return `  assert {
    condition     = jsonencode(${got}) == jsonencode(${JSON.stringify(expected)})
    error_message = "${what} grants \${jsonencode(${got})}, the code sends ${JSON.stringify(expected).replaceAll('"', '\\"')}."
  }
`;
}

if (tftest === undefined) {
  console.log(JSON.stringify(result));
} else {
  const text = readFileSync(tftest, 'utf8');
  const header = text.slice(0, text.search(/^run "/m));
  const dynamodb = (list) => list.filter((r) => r.startsWith('dynamodb:'));
  console.log(`# Generated by test/requests_from_code.mjs: the module's policies against the requests of the code.
${header}run "policies_grant_exactly_what_the_code_sends" {
  command = plan

${assertion("The counter's role", 'aws_iam_role_policy.counter.policy', '^(dynamodb|ec2):', result.counter)}
${assertion('scale_up_policy_json', 'output.scale_up_policy_json', '^dynamodb:', dynamodb(result.scale_up_reads))}
${assertion('scale_up_write_policy_json', 'output.scale_up_write_policy_json', '^dynamodb:', dynamodb(result.scale_up_writes))}}`);
}
