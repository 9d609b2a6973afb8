// The client against a running gateway:
//
//   WWS_URL=http://127.0.0.1:3000 WWS_TOKEN=<token> npm test
//
// WWS_LIMITED_TOKEN (default: WWS_TOKEN) is the principal the rate-limit
// test exhausts on /v1/chat/completions, so it runs last. WWS_QUESTION
// overrides the user text. WWS_BROKEN_STREAM_MODEL names a model whose
// stream the gateway's provider breaks midway (the integration suite
// scripts its mock so); without it that test is skipped.

import assert from "node:assert/strict";
import { test } from "node:test";

import { RateLimitError, WWSError, callWWS, streamWWS } from "../src/wws.js";
import type { ChatRequest } from "../src/wws.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set; see README.md`);
  }
  return value;
}

const config = { baseUrl: required("WWS_URL"), token: required("WWS_TOKEN") };
const question = process.env.WWS_QUESTION ?? 'He said "hi"\n\tthen left: ünïcødé 🚀 \\ {{ x }}';
const request: ChatRequest = { messages: [{ role: "user", content: question }] };

test("a plain answer names the route the task type chose", async (t) => {
  const answer = await callWWS(
    config,
    { ...request, context: "Answer in one line." },
    { taskType: "code" },
  );
  assert.ok(answer.content.length > 0, "empty answer");
  assert.equal(answer.completion.choices[0]?.message.role, "assistant");
  assert.ok(answer.provider && answer.model, "no X-WWS-Provider / X-WWS-Model");
  assert.ok((answer.completion.usage?.total_tokens ?? 0) > 0, "no usage");
  assert.ok(answer.rateLimit.limit !== null && answer.rateLimit.remaining !== null);
  t.diagnostic(`plain: ${answer.provider} ${answer.model}: ${JSON.stringify(answer.content)}`);
});

test("a streamed answer arrives in pieces and ends at [DONE]", async (t) => {
  const deltas: string[] = [];
  for await (const delta of streamWWS(config, request, { route: "openai" })) {
    deltas.push(delta);
  }
  assert.ok(deltas.length > 1, `one piece only: ${JSON.stringify(deltas)}`);
  t.diagnostic(`stream: ${JSON.stringify(deltas.join(""))} in ${deltas.length} pieces`);
});

const brokenModel = process.env.WWS_BROKEN_STREAM_MODEL;
test(
  "a stream that breaks midway throws the gateway's in-band error",
  { skip: brokenModel ? false : "WWS_BROKEN_STREAM_MODEL is not set" },
  async (t) => {
    const deltas: string[] = [];
    await assert.rejects(
      async () => {
        for await (const delta of streamWWS(config, { ...request, model: brokenModel })) {
          deltas.push(delta);
        }
      },
      (error: unknown) => {
        assert.ok(error instanceof WWSError, String(error));
        assert.equal(error.type, "upstream_error");
        assert.ok(error.message.length > 0);
        return true;
      },
    );
    assert.ok(deltas.length > 0, "the error came before any content");
    t.diagnostic(`broken stream: ${deltas.length} pieces, then an error event`);
  },
);

test("a bad token is a WWSError with status 401", async () => {
  await assert.rejects(
    callWWS({ ...config, token: "not-a-valid-token" }, request),
    (error: unknown) => {
      assert.ok(error instanceof WWSError, String(error));
      assert.ok(!(error instanceof RateLimitError));
      assert.equal(error.status, 401);
      assert.ok(error.type.length > 0 && error.message.length > 0);
      return true;
    },
  );
});

test("too many requests is a RateLimitError with Retry-After", async (t) => {
  const limited = { ...config, token: process.env.WWS_LIMITED_TOKEN ?? config.token };
  let refused: RateLimitError | undefined;
  // Bounded so a gateway without a limit fails the test instead of looping.
  for (let attempt = 0; attempt < 100 && !refused; attempt++) {
    try {
      await callWWS(limited, request, { route: "openai" });
    } catch (error) {
      if (!(error instanceof RateLimitError)) {
        throw error;
      }
      refused = error;
    }
  }
  assert.ok(refused, "no 429 within 100 requests");
  assert.equal(refused.status, 429);
  assert.match(refused.type, /^(rate_limit_exceeded|tokens_exceeded)$/);
  assert.ok(refused.retryAfter > 0, `retryAfter ${refused.retryAfter}`);
  assert.ok((refused.rateLimit.limit ?? 0) > 0);
  assert.equal(refused.rateLimit.remaining, 0);
  t.diagnostic(`limited: retry after ${refused.retryAfter} s (limit ${refused.rateLimit.limit})`);
});
