// The official MCP Tasks requester (@modelcontextprotocol/ext-tasks with the TypeScript SDK v2
// client) calling one tool as a task over streamable HTTP, in one protocol generation.
//
//   node requester.mjs <mcp url> <2025-11-25 | 2026-07-28> <tool> <arguments as JSON>
//
// Prints one JSON line: {era, kind, taskId, statuses, outcome, result}. `kind` is "task" when
// the server answered with a task handle; `statuses` are the task states the requester saw.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  createTaskSessionFromClient,
  resultFromTaskOutcome,
} from "@modelcontextprotocol/ext-tasks/client";

const [url, era, tool, argsJson] = process.argv.slice(2);
const MODERN = "2026-07-28";
const clientInfo = { name: "tasks-requester", version: "1.0.0" };
const clientCapabilities = { extensions: { "io.modelcontextprotocol/tasks": {} } };

// On 2026-07-28 the SDK client refuses tasks/* and `resultType: "task"`, so the requester's
// task traffic goes out as plain JSON-RPC POSTs with the era's routing headers.
let nextId = 1_000_000;
async function rawDispatch(request, options = {}) {
  const id = nextId++;
  const params = request.params ?? {};
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": request.method,
    ...(request.method === "tools/call" ? { "mcp-name": params.name } : {}),
    ...(options.context?.headers ?? {}),
  };
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id, ...request }),
    signal: options.signal,
  });
  const text = await response.text();
  let message;
  if ((response.headers.get("content-type") ?? "").startsWith("application/json")) {
    message = JSON.parse(text);
  } else {
    for (const line of text.split("\n")) {
      if (!line.startsWith("data:") || !line.slice(5).trim()) continue;
      const candidate = JSON.parse(line.slice(5));
      if (candidate.id === id) message = candidate;
    }
  }
  if (message === undefined) throw new Error(`no answer to ${request.method}: ${text}`);
  return message.error !== undefined
    ? { kind: "error", error: message.error }
    : { kind: "result", result: message.result };
}

const client = new Client(
  clientInfo,
  era === MODERN
    ? { capabilities: clientCapabilities, versionNegotiation: { mode: { pin: MODERN } } }
    : // 2025-11-25: the receiver (the server) declares tasks; a requester declares nothing.
      {},
);
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const session = createTaskSessionFromClient(client, {
  endpointId: "imagegen-mcp-tests",
  ...(era === MODERN
    ? {
        rawDispatch,
        v2RequestFraming: { protocolVersion: MODERN, clientInfo, clientCapabilities },
      }
    : {}),
});
try {
  const execution = await session.callTool(tool, JSON.parse(argsJson), {
    task: { preference: "prefer" },
  });
  const statuses = [];
  const { outcome } = await execution.settle({
    onEvent: (event) => {
      if (event.type === "task") statuses.push(event.task.status);
    },
  });
  const line = {
    era: client.getProtocolEra?.() ?? era,
    kind: execution.kind,
    taskId: execution.handle?.taskId ?? null,
    statuses,
    outcome: outcome.status,
    result: outcome.status === "completed" ? resultFromTaskOutcome(outcome) : null,
    error: outcome.status === "failed" ? String(outcome.error?.message ?? outcome.error) : null,
  };
  process.stdout.write(JSON.stringify(line) + "\n");
} finally {
  await session.close();
  await client.close();
}
