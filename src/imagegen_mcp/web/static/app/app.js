// The MCP App view of an image task (ui://imagegen/view.html). The host renders it for
// generate_image, edit_image and get_task and hands it the call's arguments and result; every
// server call from here goes through the host (app.callServerTool / readServerResource), so the
// page itself never touches the network.
//
// - a task still running: get_task with a short wait, again and again, to show its progress;
// - a finished task: its images at full size, each with "Variation" (generate_image with the
//   same prompt and model and the image as reference) and "Edit" (the mask painter, then
//   edit_image with the mask as a PNG data: URI);
// - new tasks started here appear above, and follow the same course.

import { App, applyDocumentTheme, applyHostFonts, applyHostStyleVariables } from "ext-apps";
import { closeEditor, openEditor } from "./edit.js";
import { imageLoader } from "./images.js";
import { TERMINAL, TaskCard } from "./view.js";

//: Seconds each get_task waits for the task before answering (the progress refresh interval).
const POLL_SECONDS = 2;

const app = new App({ name: "imagegen-mcp view", version: "1.0.0" }, {}, { autoResize: true });
const loadImages = imageLoader(app);
const list = document.getElementById("tasks");
const editor = document.getElementById("editor");
const notice = document.getElementById("notice");
const empty = document.getElementById("empty");
/** task id -> {card, info, polling} */
const tasks = new Map();
let input = null; // the arguments of the tool call the host opened this view for
let stopped = false;

function applyContext(context) {
  if (!context) return;
  if (context.theme) applyDocumentTheme(context.theme);
  if (context.styles?.variables) applyHostStyleVariables(context.styles.variables);
  if (context.styles?.css?.fonts) applyHostFonts(context.styles.css.fonts);
}

function textOf(result) {
  return (result?.content || [])
    .filter((block) => block.type === "text")
    .map((block) => block.text)
    .join(" ");
}

function say(message) {
  notice.textContent = message;
  notice.hidden = !message;
  if (message) notice.scrollIntoView({ block: "nearest" });
}

async function call(name, args) {
  return app.callServerTool({ name, arguments: args });
}

/** Show a tool result that carries a task view; anything else is said in the notice. */
function showResult(result, info) {
  const view = result?.structuredContent;
  if (!view || typeof view.task_id !== "string") {
    say(textOf(result) || "The tool answered without a task.");
    return null;
  }
  say("");
  empty.hidden = true;
  let entry = tasks.get(view.task_id);
  if (!entry) {
    entry = { card: new TaskCard(view.task_id, info, { variation, edit }), info, polling: false };
    tasks.set(view.task_id, entry);
    list.prepend(entry.card.element);
  }
  follow(entry, view);
  return entry;
}

function follow(entry, view) {
  entry.card.update(view);
  if (TERMINAL.has(view.status)) showImages(entry, view);
  else poll(entry);
}

async function poll(entry) {
  if (entry.polling) return;
  entry.polling = true;
  try {
    while (!stopped) {
      const result = await call("get_task", {
        task_id: entry.card.taskId,
        wait_seconds: POLL_SECONDS,
        preview: "none",
      });
      const view = result.structuredContent;
      if (!view) {
        entry.card.fail(textOf(result) || "get_task answered without the task.");
        return;
      }
      entry.card.update(view);
      if (TERMINAL.has(view.status)) {
        await showImages(entry, view);
        return;
      }
    }
  } catch (error) {
    entry.card.fail(`The host could not reach the server: ${error.message}`);
  } finally {
    entry.polling = false;
  }
}

async function showImages(entry, view) {
  if (!view.images.length || entry.shown) return;
  entry.shown = true;
  let loaded;
  try {
    loaded = await loadImages(view);
  } catch (error) {
    for (const image of view.images) entry.card.missing(image, `Not shown: ${error.message}`);
    return;
  }
  await Promise.all(
    view.images.map(async (image) => {
      const src = loaded.get(image.index);
      if (src instanceof Error || !src) {
        entry.card.missing(image, `Not shown: ${src ? src.message : "no bytes"} (${image.path})`);
        return;
      }
      try {
        await entry.card.show(image, src);
      } catch {
        entry.card.missing(image, `This image could not be decoded (${image.path}).`);
      }
    }),
  );
}

//: list_tasks cuts prompts at this many characters: one that long may have been cut.
const LISTED_PROMPT_CHARS = 200;

/** The task as task://{id} gives it (its whole prompt), when the host forwards resource reads. */
async function madeWith(taskId) {
  if (!app.getHostCapabilities()?.serverResources) return null;
  try {
    const result = await app.readServerResource({ uri: `task://${taskId}` });
    const text = result.contents?.[0]?.text;
    return typeof text === "string" ? JSON.parse(text) : null;
  } catch {
    return null; // list_tasks below
  }
}

/** The prompt and model a task was made with: from the host's tool input, else the task://
 *  resource, else list_tasks (whose prompt is complete only when shorter than its cut). */
async function infoOf(card) {
  const entry = tasks.get(card.taskId);
  if (entry.info.prompt && entry.info.full) return entry.info;
  const made = await madeWith(card.taskId);
  if (made && typeof made.prompt === "string") {
    entry.info = { ...entry.info, prompt: made.prompt, model: made.model, full: true };
    return entry.info;
  }
  const result = await call("list_tasks", { limit: 100 });
  const found = (result.structuredContent?.tasks || []).find((t) => t.task_id === card.taskId);
  if (!found) return entry.info;
  const full = found.prompt.length < LISTED_PROMPT_CHARS;
  return { ...entry.info, prompt: found.prompt, model: entry.info.model || found.model, full };
}

async function start(tool, args, info) {
  say("");
  try {
    const result = await call(tool, { ...args, wait_seconds: 0 });
    showResult(result, info);
  } catch (error) {
    say(`${tool} failed: ${error.message}`);
  }
}

async function variation(card, image) {
  const info = await infoOf(card);
  if (!info.prompt || !info.full) {
    // A cut prompt would make a different picture: better to say so than to pay for it.
    say(`The full prompt of task ${card.taskId} is not known here; ask for a variation in the chat.`);
    return;
  }
  const args = { prompt: info.prompt, reference_images: [image.uri] };
  if (info.model) args.model = info.model;
  await start("generate_image", args, {
    prompt: info.prompt,
    model: info.model,
    full: info.full,
    origin: `Variation of image ${image.index + 1} of task ${card.taskId}`,
  });
}

async function edit(card, image, img) {
  if (!img) return;
  const info = await infoOf(card);
  const label = `image ${image.index + 1} of task ${card.taskId}`;
  await openEditor(editor, {
    src: img.src,
    label,
    onSubmit: async ({ prompt, mask }) => {
      const args = { prompt, image: image.uri };
      if (mask) args.mask = mask;
      if (info.model) args.model = info.model;
      await start("edit_image", args, { prompt, model: info.model, full: true, origin: `Edit of ${label}` });
    },
  });
  editor.scrollIntoView({ block: "nearest" });
}

app.ontoolinput = (params) => {
  input = params.arguments || null;
};
app.ontoolresult = (result) => {
  const args = input || {};
  const full = typeof args.prompt === "string";
  showResult(result, { prompt: args.prompt, model: args.model, full });
};
app.onhostcontextchanged = applyContext;
app.onteardown = async () => {
  stopped = true;
  closeEditor(editor);
  return {};
};

app.connect().then(
  () => applyContext(app.getHostContext()),
  (error) => say(`This view could not connect to its host: ${error.message}`),
);
