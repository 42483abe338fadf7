// The history: the last 20 tasks from the task store (so it survives a reload and a server
// restart), one line each, and the "N running · M completed" counts in the status region.

import { el, shortPrompt } from "./dom.js";
import { progressOf } from "./gallery.js";
import { isOpen } from "./tasks.js";

export function countsText(counts) {
  const running = counts.running || 0;
  const completed = counts.completed || 0;
  const failed = (counts.failed || 0) + (counts.unknown || 0) + (counts.expired || 0);
  const text = `${running} running · ${completed} completed`;
  return failed ? `${text} · ${failed} failed` : text;
}

export class History {
  constructor({ list, status, onPick }) {
    Object.assign(this, { list, status, onPick });
  }

  render(tasks, counts) {
    this.status.textContent = countsText(counts);
    if (!tasks.length) {
      this.list.replaceChildren(el("li", { class: "empty", text: "No tasks yet." }));
      return;
    }
    this.list.replaceChildren(
      ...tasks.map((task) => {
        const { bar, stage } = progressOf(task);
        const thumb = (task.images || [])[0];
        const pick = el(
          "button",
          { type: "button", class: "history-item", onclick: () => this.onPick(task.task_id) },
          thumb
            ? el("img", { src: thumb.url, alt: "", loading: "lazy" })
            : el("span", { class: "history-thumb", "aria-hidden": "true" }),
          el(
            "span",
            { class: "history-text" },
            el("span", { class: "history-prompt", text: shortPrompt(task.prompt, 60) || "(no prompt)" }),
            el(
              "span",
              { class: "history-line" },
              el("span", {
                class: `chip status-${task.status}`,
                text: isOpen(task) ? `${Math.round(bar)}%` : task.status,
              }),
              el("span", {
                class: "history-meta",
                text: `${task.kind === "edit" ? "edit · " : ""}${task.model || ""}`,
              }),
            ),
          ),
        );
        pick.title = stage;
        return el("li", { "data-task": task.task_id, "data-status": task.status }, pick);
      }),
    );
  }
}
