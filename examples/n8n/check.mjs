// Runs workflow.json's request the way n8n would, against a running gateway:
//
//   WWS_URL=http://127.0.0.1:3000 WWS_API_KEY=<key> node check.mjs
//
// Checks the file is an importable workflow, evaluates the "Question" (Set)
// node, puts text full of quotes, newlines and non-ASCII in its question
// (WWS_QUESTION overrides it), evaluates the HTTP Request node's expressions
// on that item, sends the request with the API key as the "WWS API key"
// Header Auth credential would, and evaluates the "Answer" node on the reply.
// Any mismatch exits non-zero.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const gateway = process.env.WWS_URL;
const apiKey = process.env.WWS_API_KEY;
if (!gateway || !apiKey) {
  console.error("usage: WWS_URL=<gateway url> WWS_API_KEY=<key> node check.mjs");
  process.exit(2);
}
const question =
  process.env.WWS_QUESTION ?? 'She wrote "done"\n\tthen left: ünïcødé 🚀 \\ {{ $json.context }} </end>';

const workflow = JSON.parse(readFileSync(new URL("./workflow.json", import.meta.url), "utf8"));

// What n8n needs to import it: complete nodes, unique names, and
// connections keyed by node name that name existing nodes.
const byName = new Map();
for (const node of workflow.nodes) {
  for (const key of ["id", "name", "type", "typeVersion", "position", "parameters"]) {
    assert.ok(key in node, `node ${JSON.stringify(node.name)} lacks ${key}`);
  }
  assert.ok(Array.isArray(node.position) && node.position.length === 2, `${node.name}: position`);
  assert.ok(!byName.has(node.name), `two nodes are named ${node.name}`);
  byName.set(node.name, node);
}
for (const [source, outputs] of Object.entries(workflow.connections)) {
  assert.ok(byName.has(source), `connections name an unknown node ${source}`);
  for (const target of outputs.main.flat()) {
    assert.ok(byName.has(target.node), `${source} connects to an unknown node ${target.node}`);
  }
}
function after(node) {
  const name = workflow.connections[node.name]?.main?.[0]?.[0]?.node;
  assert.ok(name, `nothing follows ${node.name}`);
  return byName.get(name);
}
const trigger = workflow.nodes.find((node) => node.type === "n8n-nodes-base.manualTrigger");
assert.ok(trigger, "no Manual Trigger");
const questionNode = after(trigger);
const http = after(questionNode);
const answerNode = after(http);
assert.equal(questionNode.type, "n8n-nodes-base.set");
assert.equal(http.type, "n8n-nodes-base.httpRequest");
assert.ok(http.typeVersion >= 4 && http.typeVersion < 5, `HTTP Request v${http.typeVersion}`);
assert.equal(answerNode.type, "n8n-nodes-base.set");

/**
 * A parameter as n8n resolves it: a value starting with `=` is a template
 * whose `{{ ... }}` parts are JavaScript with `$json` bound to the input
 * item. A template that is one expression alone yields its value; otherwise
 * the parts are joined as text. Text that expressions produce is data and is
 * never evaluated again.
 */
function resolve(value, $json) {
  if (typeof value !== "string" || !value.startsWith("=")) {
    return value;
  }
  const pieces = value.slice(1).split(/\{\{([\s\S]*?)\}\}/);
  const run = (code) => new Function("$json", `return (${code});`)($json);
  if (pieces.length === 3 && pieces[0] === "" && pieces[2] === "") {
    return run(pieces[1]);
  }
  return pieces
    .map((piece, index) => {
      if (index % 2 === 0) {
        return piece;
      }
      const result = run(piece);
      return typeof result === "object" && result !== null ? JSON.stringify(result) : String(result ?? "");
    })
    .join("");
}

/** A Set node's output item: only its own fields. */
function setFields(node, $json) {
  return Object.fromEntries(
    node.parameters.assignments.assignments.map((field) => [field.name, resolve(field.value, $json)]),
  );
}

const item = setFields(questionNode, {});
assert.ok("question" in item && "wwsUrl" in item, `Question sets ${Object.keys(item)}`);
item.question = question;
item.wwsUrl = gateway;

const parameters = http.parameters;
assert.equal(parameters.method, "POST");
const url = resolve(parameters.url, item);
assert.equal(url, `${gateway}/api/ai/chat`);

assert.equal(parameters.authentication, "genericCredentialType");
assert.equal(parameters.genericAuthType, "httpHeaderAuth");
assert.ok(http.credentials?.httpHeaderAuth?.name, "no Header Auth credential");
// The credential README.md describes: Name `Authorization`, Value `Bearer <key>`.
const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
assert.equal(parameters.sendHeaders, true);
for (const header of parameters.headerParameters.parameters) {
  headers[resolve(header.name, item).toLowerCase()] = resolve(header.value, item);
}
assert.ok(headers["x-task-type"], "no X-Task-Type header");

assert.equal(parameters.sendBody, true);
assert.equal(parameters.specifyBody, "json");
const jsonBody = resolve(parameters.jsonBody, item);
let body = jsonBody;
if (typeof jsonBody === "string") {
  // n8n's own check before it sends a JSON body given as text.
  try {
    body = JSON.parse(jsonBody);
  } catch (error) {
    throw new Error(`JSON parameter needs to be valid JSON: ${error.message}\n${jsonBody}`);
  }
}
assert.equal(body.messages.at(-1).content, question, "the question changed on its way into JSON");

const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
const text = await response.text();
assert.equal(response.status, 200, text);
const answer = setFields(answerNode, JSON.parse(text));
assert.ok(answer.answer, text);
console.log(`auth: ${response.headers.get("x-wws-auth-source")}`);
console.log(`route: ${response.headers.get("x-wws-provider")} ${response.headers.get("x-wws-model")}`);
console.log(`answer: ${JSON.stringify(answer.answer)}`);
