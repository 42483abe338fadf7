// The results: one card per task, newest first, with its progress while it runs and its images
// once saved. Cards are updated in place (keyed by task id), so images already shown are not
// reloaded and focus stays where the person left it.

import { el, shortPrompt } from "./dom.js";
import { isOpen } from "./tasks.js";

/** "processing · 40%" and the bar's value, from the task view (the server's words if it has). */
export function progressOf(task) {
  const bar = typeof task.bar === "number" ? task.bar : isOpen(task) ? task.progress : 100;
  const stage = task.stage || (isOpen(task) ? `${task.status} (${task.progress}%)` : task.status);
  return { bar, stage };
}

export class Gallery {
  constructor({ root, viewer, onUseReference, onEdit }) {
    Object.assign(this, { root, viewer, onUseReference, onEdit });
    this.cards = new Map();
    this.empty = root.querySelector(".empty");
  }

  render(tasks) {
    const wanted = new Set(tasks.map((task) => task.task_id));
    for (const [id, card] of this.cards) {
      if (!wanted.has(id)) {
        card.remove();
        this.cards.delete(id);
      }
    }
    let previous = null;
    for (const task of tasks) {
      let card = this.cards.get(task.task_id);
      if (!card) {
        card = this.createCard(task);
        this.cards.set(task.task_id, card);
      }
      this.updateCard(card, task);
      // Keep the DOM in the tasks' order without moving cards that are already in place.
      const expected = previous ? previous.nextElementSibling : this.root.firstElementChild;
      if (expected !== card) {
        if (previous) previous.after(card);
        else this.root.prepend(card);
      }
      previous = card;
    }
    if (this.empty) this.empty.hidden = tasks.length > 0;
    if (this.empty && tasks.length === 0) this.root.append(this.empty);
  }

  createCard(task) {
    const title = el("h3", { class: "card-title" });
    const meta = el("p", { class: "card-meta" });
    const stage = el("span", { class: "stage" });
    const progress = el("progress", { max: "100", value: "0" });
    const status = el("div", { class: "card-status" }, stage, progress);
    const error = el("p", { class: "card-error", hidden: true });
    const grid = el("div", { class: "images" });
    const card = el(
      "article",
      {
        class: "card",
        id: `task-${task.task_id}`,
        "data-task": task.task_id,
        "aria-label": `Task ${task.task_id}`,
      },
      el("header", { class: "card-head" }, el("div", {}, title, meta), status),
      error,
      grid,
    );
    card._parts = { title, meta, stage, progress, status, error, grid };
    return card;
  }

  updateCard(card, task) {
    const parts = card._parts;
    parts.title.textContent = shortPrompt(task.prompt, 120) || "(no prompt)";
    parts.title.title = task.prompt || "";
    const when = task.created_at ? new Date(task.created_at).toLocaleString() : "";
    const kind = task.kind === "edit" ? "edit · " : "";
    parts.meta.textContent = [`${kind}${task.model || ""}`, when].filter(Boolean).join(" · ");
    const { bar, stage } = progressOf(task);
    parts.stage.textContent = stage;
    parts.progress.value = bar;
    parts.progress.setAttribute("aria-label", `Progress: ${stage}`);
    parts.progress.hidden = !isOpen(task);
    card.dataset.status = task.status;
    parts.status.className = `card-status status-${task.status}`;
    if (task.error) {
      parts.error.hidden = false;
      parts.error.textContent = task.error.message;
    } else {
      parts.error.hidden = true;
    }
    const shown = new Set(Array.from(parts.grid.children, (figure) => figure.dataset.index));
    // Images are saved in any order; they are shown in the order of their index.
    const added = (task.images || []).filter((image) => !shown.has(String(image.index)));
    for (const image of added) parts.grid.append(this.figure(task, image));
    if (added.length) {
      const figures = Array.from(parts.grid.querySelectorAll("figure.result"));
      figures.sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
      parts.grid.prepend(...figures);
    }
    const expected = Math.max(0, (task.n || 0) - (task.images || []).length);
    const placeholders = isOpen(task) ? expected : 0;
    parts.grid.querySelectorAll(".placeholder").forEach((node) => node.remove());
    for (let i = 0; i < placeholders; i += 1) {
      parts.grid.append(el("div", { class: "placeholder", "aria-hidden": "true" }));
    }
  }

  figure(task, image) {
    const name = `image ${image.index + 1} of “${shortPrompt(task.prompt, 40)}”`;
    const ref = `image://${task.task_id}/${image.index}`;
    const info = { ref, url: image.url, name, width: image.width, height: image.height, task };
    const img = el("img", {
      src: image.url,
      alt: `Result ${image.index + 1}: ${shortPrompt(task.prompt, 100)}`,
      loading: "lazy",
      width: String(image.width),
      height: String(image.height),
    });
    const open = el(
      "button",
      { type: "button", class: "image-open", onclick: () => this.viewer.show(info) },
      img,
    );
    open.setAttribute("aria-label", `View ${name} full size`);
    return el(
      "figure",
      {
        class: "result",
        "data-index": String(image.index),
        role: "group",
        "aria-label": `Result ${image.index + 1}`,
      },
      el(
        "div",
        { class: "result-view" },
        open,
        el("span", { class: "dims", text: `${image.width}×${image.height}` }),
        el("a", { class: "download", href: `${image.url}?download=1`, download: "", text: "Download" }),
      ),
      el(
        "figcaption",
        { class: "result-actions" },
        el("button", {
          type: "button",
          class: "small ghost",
          text: "Use as reference",
          onclick: () => this.onUseReference(info),
        }),
        el("button", { type: "button", class: "small", text: "Edit this", onclick: () => this.onEdit(info) }),
      ),
    );
  }

  focusTask(id) {
    const card = this.cards.get(id);
    if (!card) return;
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.classList.remove("flash");
    void card.offsetWidth; // restart the highlight animation
    card.classList.add("flash");
  }
}

/** The full-size view: a modal dialog with the image at its own size and a download link. */
export class Viewer {
  constructor(dialog) {
    this.dialog = dialog;
    this.image = dialog.querySelector("#viewer-image");
    this.caption = dialog.querySelector("#viewer-caption");
    this.download = dialog.querySelector("#viewer-download");
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
  }

  show({ url, name, width, height }) {
    this.image.src = url;
    this.image.alt = name;
    this.caption.textContent = `${name} · ${width}×${height}`;
    this.download.href = `${url}?download=1`;
    this.dialog.showModal();
  }
}
