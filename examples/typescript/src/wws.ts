/**
 * A typed client for the WWS gateway, as the Next.js frontend uses it: plain
 * and streamed chat completions, with the gateway's errors as typed
 * exceptions.
 *
 * Needs only `fetch` and web streams, so it runs in browsers, in both Next.js
 * runtimes (edge and Node) and on Node 18 or later.
 */

/** Where the gateway is and who is calling. */
export interface WWSConfig {
  /** The gateway's origin, e.g. `https://wws.example.com`. */
  baseUrl: string;
  /** A Supabase access token or an API key, sent as `Authorization: Bearer`. */
  token: string;
  /** Another `fetch`, e.g. one that adds tracing; the global one by default. */
  fetch?: typeof fetch;
}

/** `chat` is the seed's `/api/ai/chat`, `openai` is `/v1/chat/completions`. */
export type Route = "chat" | "openai";

const PATHS: Record<Route, string> = {
  chat: "/api/ai/chat",
  openai: "/v1/chat/completions",
};

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The router's task types; any other value takes the default route. */
export type TaskType = "code" | "implementation" | "debugging" | "reasoning" | (string & {});

export interface ChatRequest {
  messages: ChatMessage[];
  /** `/api/ai/chat` only: becomes a system message before `messages`. */
  context?: string;
  /** A model id from `GET /v1/models`; without one the router chooses. */
  model?: string;
  max_tokens?: number;
  temperature?: number;
}

export interface CallOptions {
  /** `chat` unless given. */
  route?: Route;
  /** Sent as `X-Task-Type`: picks the route (e.g. `code` or `reasoning`). */
  taskType?: TaskType;
  signal?: AbortSignal;
}

export interface ChatCompletion {
  id?: string;
  model: string;
  choices: {
    index: number;
    message: ChatMessage;
    finish_reason: string | null;
  }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** The caller's request allowance, from the `X-RateLimit-*` headers. */
export interface RateLimitInfo {
  limit: number | null;
  remaining: number | null;
  /** Seconds until the current window's count no longer matters. */
  reset: number | null;
}

export interface ChatAnswer {
  content: string;
  completion: ChatCompletion;
  /** Which provider and model answered, from `X-WWS-Provider` / `X-WWS-Model`. */
  provider: string | null;
  model: string | null;
  rateLimit: RateLimitInfo;
}

/** An error answer from the gateway, `{"error": {"type", "message"}}`. */
export class WWSError extends Error {
  /**
   * `status` is the HTTP status. An error reported inside a stream that had
   * already started keeps the stream's 200; its `type` says what happened.
   */
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = "WWSError";
  }
}

/** A 429: too many requests or tokens for this principal. */
export class RateLimitError extends WWSError {
  /** Seconds until the same request would be admitted (`Retry-After`). */
  readonly retryAfter: number;
  readonly rateLimit: RateLimitInfo;

  constructor(type: string, message: string, retryAfter: number, rateLimit: RateLimitInfo) {
    super(429, type, message);
    this.name = "RateLimitError";
    this.retryAfter = retryAfter;
    this.rateLimit = rateLimit;
  }
}

/** Asks for one complete answer. */
export async function callWWS(
  config: WWSConfig,
  request: ChatRequest,
  options: CallOptions = {},
): Promise<ChatAnswer> {
  const response = await send(config, request, options, false);
  const completion = (await response.json()) as ChatCompletion;
  return {
    content: completion.choices[0]?.message.content ?? "",
    completion,
    provider: response.headers.get("x-wws-provider"),
    model: response.headers.get("x-wws-model"),
    rateLimit: rateLimitOf(response.headers),
  };
}

/**
 * Asks for a streamed answer and yields its content as it arrives. Throws a
 * `WWSError` when the gateway refuses the request or reports a failure
 * inside the stream (`event: error`).
 */
export async function* streamWWS(
  config: WWSConfig,
  request: ChatRequest,
  options: CallOptions = {},
): AsyncGenerator<string, void, undefined> {
  const response = await send(config, request, options, true);
  if (!response.body) {
    throw new WWSError(response.status, "invalid_stream", "the gateway sent no body");
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new EventParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (const event of parser.push(text)) {
        if (event.type === "error") {
          const error = parseError(event.data);
          throw new WWSError(
            response.status,
            error?.type ?? "stream_error",
            error?.message ?? event.data,
          );
        }
        if (event.data === "[DONE]") {
          return;
        }
        const delta = deltaOf(response.status, event.data);
        if (delta) {
          yield delta;
        }
      }
      if (done) {
        throw new WWSError(response.status, "invalid_stream", "the stream ended before [DONE]");
      }
    }
  } finally {
    // Stops the download when the caller leaves the loop early or the
    // stream failed; after [DONE] it is a no-op.
    await reader.cancel().catch(() => undefined);
  }
}

async function send(
  config: WWSConfig,
  request: ChatRequest,
  options: CallOptions,
  stream: boolean,
): Promise<Response> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${config.token}`,
    "content-type": "application/json",
  };
  if (options.taskType) {
    headers["x-task-type"] = options.taskType;
  }
  if (stream) {
    headers.accept = "text/event-stream";
  }
  const url = config.baseUrl.replace(/\/+$/, "") + PATHS[options.route ?? "chat"];
  // A plain call, not a method call: browsers refuse `fetch` bound to
  // another object.
  const doFetch = config.fetch ?? fetch;
  const response = await doFetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify(stream ? { ...request, stream: true } : request),
    signal: options.signal,
  });
  if (!response.ok) {
    throw await errorOf(response);
  }
  return response;
}

async function errorOf(response: Response): Promise<WWSError> {
  const text = await response.text().catch(() => "");
  const error = parseError(text) ?? {
    type: "http_error",
    message: text || `HTTP ${response.status}`,
  };
  if (response.status !== 429) {
    return new WWSError(response.status, error.type, error.message);
  }
  const rateLimit = rateLimitOf(response.headers);
  const retryAfter = seconds(response.headers.get("retry-after")) ?? rateLimit.reset ?? 0;
  return new RateLimitError(error.type, error.message, retryAfter, rateLimit);
}

function parseError(text: string): { type: string; message: string } | undefined {
  try {
    const { error } = JSON.parse(text) as { error?: { type?: unknown; message?: unknown } };
    if (error && typeof error.type === "string") {
      return {
        type: error.type,
        message: typeof error.message === "string" ? error.message : error.type,
      };
    }
  } catch {
    // Not the gateway's JSON (e.g. a proxy's HTML page): the caller
    // falls back to the raw text.
  }
  return undefined;
}

function rateLimitOf(headers: Headers): RateLimitInfo {
  return {
    limit: seconds(headers.get("x-ratelimit-limit")),
    remaining: seconds(headers.get("x-ratelimit-remaining")),
    reset: seconds(headers.get("x-ratelimit-reset")),
  };
}

/** A non-negative number header, or an HTTP date as seconds from now. */
function seconds(value: string | null): number | null {
  if (value === null || value.trim() === "") {
    return null;
  }
  const number = Number(value);
  if (Number.isFinite(number)) {
    return Math.max(0, number);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function deltaOf(status: number, data: string): string {
  let chunk: {
    choices?: { delta?: { content?: string | null } }[];
    error?: unknown;
  };
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new WWSError(status, "invalid_stream", `not a JSON chunk: ${data.slice(0, 200)}`);
  }
  if (chunk.error) {
    const error = parseError(data);
    throw new WWSError(status, error?.type ?? "stream_error", error?.message ?? data);
  }
  return chunk.choices?.[0]?.delta?.content ?? "";
}

interface ServerSentEvent {
  type: string;
  data: string;
}

/**
 * Server-sent events from text that arrives in arbitrary pieces: lines end
 * in LF or CRLF, a blank line ends an event, `data` lines join with LF, and
 * lines starting with `:` are comments.
 */
class EventParser {
  private pending = "";
  private type = "";
  private data: string[] = [];

  push(text: string): ServerSentEvent[] {
    const lines = (this.pending + text).split("\n");
    // The last piece has no line end yet: keep it for the next push.
    this.pending = lines.pop() ?? "";
    const events: ServerSentEvent[] = [];
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (this.data.length > 0) {
          events.push({ type: this.type || "message", data: this.data.join("\n") });
        }
        this.type = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) {
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) {
        value = value.slice(1);
      }
      if (field === "event") {
        this.type = value;
      } else if (field === "data") {
        this.data.push(value);
      }
    }
    return events;
  }
}
