// One task in the MCP App view: its status and progress while it runs, then its images at full
// size with "Variation" and "Edit" under each. Renders only what the task view (the tools'
// structured content: task_id, status, progress, images, next_step, error) says.

import { el } from "../dom.js";

export const TERMINAL = new Set(["completed", "failed", "unknown", "expired"]);

function statusText(view) {
  if (view.status === "completed") {
    const n = view.images.length;
    return `Completed: ${n} image${n === 1 ? "" : "s"} saved.`;
  }
  if (view.status === "failed" && view.error) return `Failed: ${view.error.message}`;
  // unknown (maybe charged: check before retrying), expired: the server's next step says it all.
  if (TERMINAL.has(view.status)) return view.next_step;
  return `${view.status[0].toUpperCase()}${view.status.slice(1)}… ${view.progress}%`;
}

export class TaskCard {
  /**
   * @param {string} taskId
   * @param {{origin?: string, prompt?: string}} info what started it, when known
   * @param {{variation: Function, edit: Function}} actions called with (card, image, imgElement)
   */
  constructor(taskId, info, actions) {
    this.taskId = taskId;
    this.actions = actions;
    this.figures = new Map(); // image index -> {figure, img}
    const title = info.prompt ? info.prompt : `Task ${taskId}`;
    this.status = el("p", { class: "status", role: "status" });
    this.progress = el("progress", { max: 100, value: 0, "aria-label": "Progress" });
    this.images = el("div", { class: "images" });
    this.element = el(
      "article",
      { class: "task", role: "listitem", "aria-label": `Task ${taskId}` },
      el(
        "header",
        {},
        el("h2", { text: title.length > 120 ? `${title.slice(0, 119)}…` : title }),
        el("span", { class: "origin", text: info.origin || "" }),
      ),
      this.status,
      this.progress,
      this.images,
    );
  }

  /** Show the task as ``view`` says. */
  update(view) {
    this.view = view;
    this.status.textContent = statusText(view);
    this.status.classList.toggle("failed", TERMINAL.has(view.status) && view.status !== "completed");
    // No figure yet (queued upstream): an indeterminate bar rather than a stuck 0.
    if (view.progress > 0 || view.status === "completed") {
      this.progress.value = view.status === "completed" ? 100 : view.progress;
    } else {
      this.progress.removeAttribute("value");
    }
    this.progress.hidden = TERMINAL.has(view.status);
    this.images.classList.toggle("many", view.images.length > 1);
    for (const image of view.images) this.figure(image);
  }

  /** A line under the status, e.g. when the server cannot be reached. */
  fail(message) {
    this.status.textContent = message;
    this.status.classList.add("failed");
    this.progress.hidden = true;
  }

  figure(image) {
    if (this.figures.has(image.index)) return this.figures.get(image.index);
    const label = `Image ${image.index + 1} of task ${this.taskId}`;
    const slot = el("div", { class: "slot", text: "Loading image…" });
    const variation = el("button", { type: "button", text: "Variation", disabled: true });
    const edit = el("button", { type: "button", text: "Edit", disabled: true });
    const figure = el(
      "figure",
      { "aria-label": label },
      slot,
      el(
        "figcaption",
        {},
        el("span", { class: "size", text: `${image.width}×${image.height}` }),
        variation,
        edit,
      ),
    );
    const entry = { figure, slot, img: null, image, variation, edit };
    // Disabled until the action's call is answered: a double click starts (and pays) one task.
    const run = async (button, action) => {
      button.disabled = true;
      try {
        await action(this, image, entry.img);
      } finally {
        button.disabled = false;
      }
    };
    variation.addEventListener("click", () => run(variation, this.actions.variation));
    edit.addEventListener("click", () => run(edit, this.actions.edit));
    this.figures.set(image.index, entry);
    this.images.append(figure);
    return entry;
  }

  /** Put the image's bytes (a data: URI) in its place; resolves once it is decoded. */
  async show(image, src) {
    const entry = this.figure(image);
    const img = el("img", { alt: `Image ${image.index + 1}`, width: image.width, height: image.height });
    img.src = src;
    await img.decode();
    entry.slot.replaceWith(img);
    entry.img = img;
    entry.variation.disabled = false;
    entry.edit.disabled = false;
  }

  /** Say in the image's place why it could not be shown. */
  missing(image, message) {
    const entry = this.figure(image);
    entry.slot.textContent = message;
  }
}
