// The official `openai` npm package against WWS's `/v1`:
//
//   node dist/chat.js http://127.0.0.1:3000 <bearer token or API key>
//
// Sends a plain and a streamed completion, lists the models, then asks for
// an unknown model, and checks each answer the way an application would rely
// on it; any mismatch exits non-zero, so the suite runs it as a test. The
// same steps as examples/openai-python/chat.py.

import assert from "node:assert/strict";

import OpenAI from "openai";

const [baseUrl, token] = process.argv.slice(2);
if (!baseUrl || !token) {
  console.error("usage: node dist/chat.js <gateway url> <token>");
  process.exit(2);
}

const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: token, maxRetries: 0 });
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Say hello" }];

const plain = await client.chat.completions.create({ model: "glm-4-plus", messages });
const text = plain.choices[0]?.message.content;
assert.ok(text, JSON.stringify(plain));
assert.ok(plain.usage && plain.usage.total_tokens > 0, JSON.stringify(plain));
console.log(`plain: ${JSON.stringify(text)}`);

const stream = await client.chat.completions.create({ model: "glm-4-plus", messages, stream: true });
const pieces: string[] = [];
for await (const chunk of stream) {
  const choice = chunk.choices[0];
  if (choice) {
    pieces.push(choice.delta.content ?? "");
  }
}
assert.ok(pieces.length > 1, JSON.stringify(pieces));
console.log(`stream: ${JSON.stringify(pieces.join(""))} in ${pieces.length} chunks`);

const models: string[] = [];
for await (const model of client.models.list()) {
  models.push(model.id);
}
assert.ok(models.includes("glm-4-plus"), JSON.stringify(models));
console.log(`models: ${models.length}`);

try {
  await client.chat.completions.create({ model: "gpt-unknown", messages });
  assert.fail("an unknown model was accepted");
} catch (error) {
  if (!(error instanceof OpenAI.BadRequestError)) {
    throw error;
  }
  console.log(`unknown model: ${error.status}`);
}
