// Replays captured response bodies through the official Node clients, through their own
// `fetch` option: no network, no server. One process serves a whole batch: it reads one JSON
// request per line on stdin and answers one JSON line per request on stdout.
//
// request:  {"id", "pieces": [base64...], "status", "contentType", "tools": [names], "clients": [...]}
//           or {"op": "versions"}
// answer:   {"id", "readings": {client: reading}}  (reading: see conformance/clients/reading.py)
//
// A client that throws is a reading with status "raised"; this script itself never dies on a
// stream, since whatever a stream does to a client is the result.

import { createInterface } from "node:readline";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import OpenAI from "openai";
import { streamText, jsonSchema, tool } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

const HERE = dirname(fileURLToPath(import.meta.url));

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(HERE, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

// A fetch that answers every request with the captured body, in the pieces it arrived in.
function replayFetch(req) {
  return async () => {
    const pieces = req.pieces.map((p) => Buffer.from(p, "base64"));
    let i = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (i < pieces.length) controller.enqueue(new Uint8Array(pieces[i++]));
        else controller.close();
      },
    });
    return new Response(body, { status: req.status ?? 200, headers: { "content-type": req.contentType ?? "text/event-stream" } });
  };
}

const REQUEST = { model: "replay", messages: [{ role: "user", content: "replay" }] };

function errorText(err) {
  const name = err?.constructor?.name ?? "Error";
  return `${name}: ${String(err?.message ?? err).slice(0, 500)}`;
}

// The typical application over raw chunks: strings concatenate, tool calls merge by index,
// the first finish reason sticks, the last usage object wins (the spec's reading, written
// again here on purpose: an independent second implementation).
function newApp() {
  return { choices: new Map(), usage: null, apiError: null };
}

function appChoice(app, index) {
  let c = app.choices.get(index);
  if (!c) {
    c = { index, content: "", reasoning: "", details: "", calls: new Map(), finish_reason: null };
    app.choices.set(index, c);
  }
  return c;
}

const str = (v) => (typeof v === "string" ? v : "");

function appFeed(app, chunk) {
  if (chunk === null || typeof chunk !== "object") return;
  if (chunk.usage && typeof chunk.usage === "object") app.usage = chunk.usage;
  if (!Array.isArray(chunk.choices)) return;
  chunk.choices.forEach((ch, pos) => {
    if (!ch || typeof ch !== "object") return;
    const c = appChoice(app, Number.isInteger(ch.index) ? ch.index : pos);
    const d = ch.delta && typeof ch.delta === "object" ? ch.delta : {};
    c.content += str(d.content);
    c.reasoning += str(d.reasoning_content) || str(d.reasoning);
    c.details += detailsText(d.reasoning_details);
    if (Array.isArray(d.tool_calls)) {
      for (const t of d.tool_calls) {
        if (!t || typeof t !== "object" || !Number.isInteger(t.index)) continue;
        let call = c.calls.get(t.index);
        if (!call) c.calls.set(t.index, (call = { index: t.index, id: null, name: null, arguments: "" }));
        const fn = t.function && typeof t.function === "object" ? t.function : {};
        call.id = call.id || str(t.id) || null;
        call.name = call.name || str(fn.name) || null;
        call.arguments += str(fn.arguments);
      }
    }
    if (c.finish_reason == null && ch.finish_reason != null) c.finish_reason = ch.finish_reason;
  });
}

// reasoning_details items' text, kept apart from the flat field (a server may send both)
function detailsText(items) {
  let out = "";
  if (Array.isArray(items)) for (const item of items) if (item && typeof item === "object") out += str(item.text) || str(item.summary);
  return out;
}

function appError(app, err) {
  app.apiError = errorText(err);
  for (const c of app.choices.values()) if (c.finish_reason == null) c.finish_reason = "error";
}

function appReading(app, status, error) {
  const choices = [...app.choices.values()]
    .sort((a, b) => a.index - b.index)
    .map((c) => ({
      index: c.index,
      content: c.content,
      reasoning: c.reasoning,
      reasoning_details: c.details,
      tool_calls: [...c.calls.values()].sort((a, b) => a.index - b.index).map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
      finish_reason: c.finish_reason,
    }));
  return { status, error: error ?? null, api_error: app.apiError, choices, usage: counts(app.usage) };
}

function counts(usage) {
  if (!usage || typeof usage !== "object") return null;
  return { prompt_tokens: usage.prompt_tokens ?? null, completion_tokens: usage.completion_tokens ?? null, total_tokens: usage.total_tokens ?? null };
}

function client(req) {
  return new OpenAI({ apiKey: "sk-replay", baseURL: "http://replay.invalid/v1", fetch: replayFetch(req), maxRetries: 0, logLevel: "off" });
}

const isApiError = (err) => err instanceof OpenAI.APIError && err.status === undefined;

async function openaiNode(req) {
  const app = newApp();
  try {
    const stream = await client(req).chat.completions.create({ ...REQUEST, stream: true });
    for await (const chunk of stream) appFeed(app, chunk);
  } catch (err) {
    if (isApiError(err)) appError(app, err);
    else return appReading(app, "raised", errorText(err));
  }
  return appReading(app, "ok");
}

// ChatCompletionStream: the accumulator users get from chat.completions.stream().
// The snapshot is the SDK's unvalidated accumulation of what the endpoint sent: any field may
// hold any JSON, so a list that is not an array reads as empty and a message that is not an
// object as an empty one (as the Python reading does), never an exception of ours.
const list = (v) => (Array.isArray(v) ? v : []);
const object = (v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? v : {});

function snapshotReading(snapshot, status, error, apiError) {
  const choices = [];
  for (const ch of list(snapshot?.choices)) {
    if (!ch || typeof ch !== "object") continue;
    const m = object(ch.message);
    choices.push({
      index: ch.index,
      content: str(m.content),
      reasoning: str(m.reasoning_content) || str(m.reasoning),
      reasoning_details: detailsText(m.reasoning_details),
      tool_calls: list(m.tool_calls).filter(Boolean).map((t) => ({ id: t.id ?? null, name: t.function?.name ?? null, arguments: str(t.function?.arguments) })),
      finish_reason: ch.finish_reason ?? (apiError ? "error" : null),
    });
  }
  return { status, error: error ?? null, api_error: apiError ?? null, choices, usage: counts(snapshot?.usage) };
}

async function openaiNodeStream(req) {
  const stream = client(req).chat.completions.stream(REQUEST);
  try {
    for await (const _ of stream) { /* drain: the accumulator is the point */ }
    const final = await stream.finalChatCompletion();
    return snapshotReading(final, "ok");
  } catch (err) {
    const snapshot = stream.currentChatCompletionSnapshot;
    if (isApiError(err)) return snapshotReading(snapshot, "ok", null, errorText(err));
    return snapshotReading(snapshot, "raised", errorText(err));
  }
}

const FINISH = { "tool-calls": "tool_calls", "content-filter": "content_filter" };

async function vercelAi(req) {
  const provider = createOpenAICompatible({ name: "replay", baseURL: "http://replay.invalid/v1", apiKey: "sk-replay", fetch: replayFetch(req), includeUsage: true });
  // the tools the request declared (or that the stream calls), with permissive schemas: the
  // suite's tools.* rules judge the arguments; here only what the client ends up with counts
  const tools = Object.fromEntries((req.tools ?? []).map((name) => [name, tool({ inputSchema: jsonSchema({}) })]));
  const out = { index: 0, content: "", reasoning: "", reasoning_details: null, tool_calls: [], finish_reason: null };
  let usage = null;
  const errors = [];
  try {
    const result = streamText({ model: provider.chatModel("replay"), prompt: "replay", tools, maxRetries: 0, onError: () => {} });
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") out.content += part.text;
      else if (part.type === "reasoning-delta") out.reasoning += part.text;
      else if (part.type === "tool-call") out.tool_calls.push({ id: part.toolCallId, name: part.toolName, arguments: typeof part.input === "string" ? part.input : JSON.stringify(part.input) });
      else if (part.type === "error" || part.type === "tool-error") errors.push(errorText(part.error));
      else if (part.type === "finish") {
        out.finish_reason = part.finishReason === "other" ? (part.rawFinishReason ?? "other") : (FINISH[part.finishReason] ?? part.finishReason);
        const u = part.totalUsage ?? {};
        if (u.inputTokens != null || u.outputTokens != null || u.totalTokens != null) {
          usage = { prompt_tokens: u.inputTokens ?? null, completion_tokens: u.outputTokens ?? null, total_tokens: u.totalTokens ?? null };
        }
      }
    }
  } catch (err) {
    return { status: "raised", error: errorText(err), api_error: null, choices: [out], usage };
  }
  const reading = { status: "ok", error: null, api_error: errors.length ? errors.join("; ") : null, choices: [out], usage };
  return reading;
}

const CLIENTS = { "openai-node": openaiNode, "openai-node-stream": openaiNodeStream, "vercel-ai": vercelAi };

async function handle(req) {
  if (req.op === "versions") {
    return { versions: { node: process.versions.node, openai: versionOf("openai"), ai: versionOf("ai"), "@ai-sdk/openai-compatible": versionOf("@ai-sdk/openai-compatible") } };
  }
  const readings = {};
  for (const name of req.clients ?? Object.keys(CLIENTS)) {
    const run = CLIENTS[name];
    if (!run) {
      readings[name] = { status: "skipped", error: `unknown node client ${name}`, api_error: null, choices: [], usage: null };
      continue;
    }
    try {
      readings[name] = await run(req);
    } catch (err) {
      readings[name] = { status: "raised", error: errorText(err), api_error: null, choices: [], usage: null };
    }
  }
  return { id: req.id, readings };
}

// clients log through console on some paths (bad JSON); stdout is our channel
console.log = console.info = console.warn = console.error = console.debug = () => {};
process.on("unhandledRejection", () => {});

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    answer = await handle(JSON.parse(line));
  } catch (err) {
    answer = { id: null, fatal: errorText(err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
