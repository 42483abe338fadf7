// Reference images: chosen with the file picker, dropped on the drop zone, or taken from a
// result ("Use as reference"). Each file is checked here before anything is sent: its first
// bytes must be a PNG, JPEG or WebP signature (a renamed text file is refused whatever its name
// or the type the browser guesses), it must be at most 10 MB, and it must fit the model's limit.
// A refused file gets its own message and is never uploaded; the server checks again.

import { upload, uploadUrl } from "./api.js";

export const MAX_BYTES = 10 * 1024 * 1024;

const SIGNATURES = [
  { type: "image/png", test: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  { type: "image/jpeg", test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    type: "image/webp",
    test: (b) =>
      String.fromCharCode(b[0], b[1], b[2], b[3]) === "RIFF" &&
      String.fromCharCode(b[8], b[9], b[10], b[11]) === "WEBP",
  },
];

/** The file's image type from its first bytes, or null when it is no PNG, JPEG or WebP. */
export async function sniffType(file) {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  if (head.length < 12) return null;
  const found = SIGNATURES.find((s) => s.test(head));
  return found ? found.type : null;
}

function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** Why `file` cannot be a reference, in one line, or null when it can. */
export async function refusal(file) {
  if (file.size > MAX_BYTES) {
    return `${file.name} is ${megabytes(file.size)}: the limit is 10 MB. Pick a smaller image or export it at a lower size.`;
  }
  if (!(await sniffType(file))) {
    return `${file.name} is not a PNG, JPEG or WebP image: pick one of those.`;
  }
  return null;
}

/**
 * The references panel. `limit()` gives the current model's maximum; `onEdit(ref)` is called by
 * an upload's "Edit this" button; `onChange()` after every change.
 */
export class References {
  constructor({ input, dropzone, list, messages, limitLabel, limit, onEdit, onChange }) {
    Object.assign(this, { input, dropzone, list, messages, limitLabel, limit, onEdit, onChange });
    /** @type {Array<{ref: string|null, name: string, thumb: string, objectUrl: string|null, width?: number, height?: number, uploading: boolean}>} */
    this.items = [];
    input.addEventListener("change", () => {
      const files = Array.from(input.files || []);
      input.value = ""; // choosing the same file again fires change again
      this.addFiles(files);
    });
    for (const name of ["dragenter", "dragover"]) {
      dropzone.addEventListener(name, (event) => {
        event.preventDefault();
        dropzone.classList.add("dragging");
      });
    }
    for (const name of ["dragleave", "dragend"]) {
      dropzone.addEventListener(name, () => dropzone.classList.remove("dragging"));
    }
    dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      dropzone.classList.remove("dragging");
      this.addFiles(Array.from(event.dataTransfer?.files || []));
    });
  }

  /** The refs the API takes ("upload:<sha>" or "image://task/index"), uploads finished only. */
  refs() {
    return this.items.filter((item) => item.ref).map((item) => item.ref);
  }

  get busy() {
    return this.items.some((item) => item.uploading);
  }

  clearMessages() {
    this.messages.replaceChildren();
  }

  message(text) {
    const li = document.createElement("li");
    li.textContent = text;
    this.messages.appendChild(li);
  }

  roomLeft() {
    return this.limit() - this.items.length;
  }

  async addFiles(files) {
    this.clearMessages();
    for (const file of files) {
      const why = await refusal(file);
      if (why) {
        this.message(why);
        continue;
      }
      if (this.roomLeft() <= 0) {
        this.message(`${file.name} was not added: this model takes at most ${this.limit()} reference image${this.limit() === 1 ? "" : "s"}. Remove one first or pick another model.`);
        continue;
      }
      this.uploadFile(file);
    }
    this.render();
  }

  uploadFile(file) {
    const objectUrl = URL.createObjectURL(file);
    const item = { ref: null, name: file.name, thumb: objectUrl, objectUrl, uploading: true };
    this.items.push(item);
    upload(file)
      .then((stored) => {
        Object.assign(item, {
          ref: `upload:${stored.id}`,
          url: uploadUrl(stored.id),
          width: stored.width,
          height: stored.height,
          uploading: false,
        });
      })
      .catch((error) => {
        this.remove(item, false);
        this.message(`${file.name} was not uploaded: ${error.message}`);
      })
      .finally(() => this.render());
  }

  /** Add a saved result (its image:// ref); false with a message when the model has no room. */
  addResult({ ref, url, name }) {
    this.clearMessages();
    if (this.items.some((item) => item.ref === ref)) {
      this.message(`${name} is already a reference.`);
      return false;
    }
    if (this.roomLeft() <= 0) {
      const limit = this.limit();
      this.message(
        limit === 0
          ? "This model takes no reference images: pick another model to use this one."
          : `${name} was not added: this model takes at most ${limit} reference image${limit === 1 ? "" : "s"}. Remove one first.`,
      );
      return false;
    }
    this.items.push({ ref, url, name, thumb: url, objectUrl: null, uploading: false });
    this.render();
    return true;
  }

  remove(item, render = true) {
    this.items = this.items.filter((other) => other !== item);
    if (item.objectUrl) URL.revokeObjectURL(item.objectUrl);
    if (render) this.render();
  }

  clear() {
    for (const item of this.items) if (item.objectUrl) URL.revokeObjectURL(item.objectUrl);
    this.items = [];
    this.render();
  }

  render() {
    const limit = this.limit();
    this.limitLabel.textContent = limit ? `${this.items.length} / ${limit}` : "not taken by this model";
    this.dropzone.classList.toggle("disabled", limit === 0);
    this.input.disabled = limit === 0;
    this.list.replaceChildren(
      ...this.items.map((item, index) => {
        const li = document.createElement("li");
        li.className = item.uploading ? "thumb uploading" : "thumb";
        const img = document.createElement("img");
        img.src = item.thumb;
        img.alt = item.name;
        li.appendChild(img);
        if (index >= limit) li.classList.add("over");
        const bar = document.createElement("div");
        bar.className = "thumb-actions";
        if (!item.uploading && item.ref.startsWith("upload:")) {
          const editBtn = document.createElement("button");
          editBtn.type = "button";
          editBtn.textContent = "Edit";
          editBtn.className = "thumb-edit";
          editBtn.setAttribute("aria-label", `Edit ${item.name}`);
          editBtn.addEventListener("click", () => this.onEdit(item));
          bar.appendChild(editBtn);
        }
        const removeBtn = document.createElement("button");
        removeBtn.type = "button";
        removeBtn.textContent = "×";
        removeBtn.className = "thumb-remove";
        removeBtn.setAttribute("aria-label", `Remove ${item.name}`);
        removeBtn.addEventListener("click", () => this.remove(item));
        bar.appendChild(removeBtn);
        li.appendChild(bar);
        return li;
      }),
    );
    if (this.onChange) this.onChange();
  }
}
