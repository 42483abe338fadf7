// The tasks the page shows, kept current: every open task is followed with long polls
// (GET /api/tasks/<id>?wait=20&after=<progress>) until it ends. The server answers as soon as
// the task moves, so progress shows live without polling in a tight loop. At most
// MAX_POLLS requests wait at once: a browser opens only six connections per server, and the
// page still needs some for its other requests.

import { getTask, listTasks } from "./api.js";

export const OPEN = new Set(["submitting", "pending", "processing"]);
const MAX_POLLS = 3;
const WAIT_SECONDS = 20;

export function isOpen(task) {
  return OPEN.has(task.status);
}

/** Whether `next` is news about the same task: ended, or further along. */
function newer(next, known) {
  if (!known) return true;
  if (!isOpen(known)) return false;
  if (!isOpen(next)) return true;
  return next.progress >= known.progress || (next.images || []).length > (known.images || []).length;
}

export class Tasks {
  constructor({ onChange, onError, onBack = () => {} }) {
    this.onChange = onChange;
    this.onError = onError;
    this.onBack = onBack;
    this.offline = false;
    /** @type {Map<string, object>} */
    this.byId = new Map();
    this.order = []; // task ids, newest first
    this.counts = {};
    this.following = new Set();
    this.queue = [];
    this.active = 0;
  }

  list() {
    return this.order.map((id) => this.byId.get(id)).filter(Boolean);
  }

  get(id) {
    return this.byId.get(id);
  }

  /** Record what the server said about a task; follow it while it is open. */
  put(task, { first = false } = {}) {
    const known = this.byId.get(task.task_id);
    if (!this.order.includes(task.task_id)) {
      if (first) this.order.unshift(task.task_id);
      else this.order.push(task.task_id);
    }
    if (newer(task, known)) this.byId.set(task.task_id, { ...known, ...task });
    if (isOpen(this.byId.get(task.task_id))) this.follow(task.task_id);
  }

  /** Reload the history (the last 20 tasks) and the counts from the task store. */
  async refresh() {
    const answer = await listTasks(20);
    const ids = answer.tasks.map((task) => task.task_id);
    // Tasks this page started stay listed even if the store's newest 20 moved past them.
    const extra = this.order.filter((id) => !ids.includes(id));
    this.order = [...ids, ...extra].slice(0, Math.max(20, ids.length));
    for (const task of answer.tasks) this.put(task);
    this.counts = answer.counts || {};
    this.onChange();
  }

  follow(id) {
    if (this.following.has(id)) return;
    this.following.add(id);
    this.queue.push(id);
    this.pump();
  }

  pump() {
    while (this.active < MAX_POLLS && this.queue.length) {
      const id = this.queue.shift();
      this.active += 1;
      this.pollOnce(id).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  async pollOnce(id) {
    const known = this.byId.get(id);
    let failed = false;
    try {
      const { task } = await getTask(id, { wait: WAIT_SECONDS, after: known ? known.progress : 0 });
      if (this.offline) {
        this.offline = false;
        this.onBack();
      }
      const wasOpen = known && isOpen(known);
      this.put(task);
      this.onChange(task);
      if (wasOpen && !isOpen(task)) {
        // The counts come from the store: ask again now that one task ended.
        this.refresh().catch((error) => this.onError(error));
      }
    } catch (error) {
      failed = true;
      if (error.status === 404) {
        this.following.delete(id);
        return;
      }
      this.offline = error.status === 0;
      this.onError(error);
    }
    const current = this.byId.get(id);
    if (current && isOpen(current)) {
      // Back in the queue: other open tasks get their turn. After a failure, wait a little.
      if (failed) await new Promise((resolve) => setTimeout(resolve, 3000));
      this.queue.push(id);
    } else {
      this.following.delete(id);
    }
  }
}
