// The playground's HTTP API, one function per route. Every failure becomes an ApiError whose
// message is the server's one line ({"error": ...}) or, when the server could not be reached,
// a line saying so: callers show error.message as is.

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

async function call(path, { method = "GET", json, form, signal } = {}) {
  const init = { method, signal, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached: check that imagegen-mcp is still running, then retry.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const line = body && typeof body.error === "string" ? body.error : defaultMessage(response.status);
    throw new ApiError(response.status, line, body);
  }
  return body;
}

function defaultMessage(status) {
  if (status === 401 || status === 403) {
    return "Not allowed: open the page once as /?token=<your IMAGEGEN_HTTP_TOKEN>, then retry.";
  }
  if (status === 413) return "The file is too large: the limit is 10 MB.";
  return `The server answered ${status}: retry, or check the server's log.`;
}

export function getModels() {
  return call("/api/models");
}

export function listTasks(limit = 20) {
  return call(`/api/tasks?limit=${limit}`);
}

/** The task, at once; with `wait`, once its progress is above `after` or it has ended. */
export function getTask(taskId, { wait, after, signal } = {}) {
  const query = new URLSearchParams();
  if (wait !== undefined) query.set("wait", String(wait));
  if (after !== undefined) query.set("after", String(after));
  const suffix = query.size ? `?${query}` : "";
  return call(`/api/tasks/${encodeURIComponent(taskId)}${suffix}`, { signal });
}

/** Upload a File or Blob; resolves to {id, name, width, height, mime_type, bytes}. */
export function upload(file, name = file.name) {
  const form = new FormData();
  form.append("file", file, name);
  return call("/api/uploads", { method: "POST", form });
}

export function uploadUrl(id) {
  return `/api/uploads/${encodeURIComponent(id)}`;
}

export function generate(body) {
  return call("/api/generate", { method: "POST", json: body });
}

export function edit(body) {
  return call("/api/edit", { method: "POST", json: body });
}

/** A fresh id for client_request_id (crypto.randomUUID needs a secure context; this does not). */
export function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
