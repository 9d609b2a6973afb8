// Streams one answer to the terminal:
//
//   node dist/src/chat.js http://127.0.0.1:3000 <token> "Write fizzbuzz in Rust"
//
// The same calls work unchanged in a Next.js route handler or component.

import { RateLimitError, WWSError, streamWWS } from "./wws.js";

const [baseUrl, token, question = "Say hello"] = process.argv.slice(2);
if (!baseUrl || !token) {
  console.error("usage: node dist/src/chat.js <gateway url> <token> [question]");
  process.exit(2);
}

try {
  const stream = streamWWS(
    { baseUrl, token },
    { messages: [{ role: "user", content: question }] },
    { taskType: "code" },
  );
  for await (const delta of stream) {
    process.stdout.write(delta);
  }
  process.stdout.write("\n");
} catch (error) {
  if (error instanceof RateLimitError) {
    console.error(`rate limited (${error.type}): retry in ${error.retryAfter} s`);
  } else if (error instanceof WWSError) {
    console.error(`gateway error ${error.status} ${error.type}: ${error.message}`);
  } else {
    throw error;
  }
  process.exitCode = 1;
}
