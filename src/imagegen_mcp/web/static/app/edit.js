// The edit panel: the chosen image with the shared mask painter over it, a prompt, and "Apply
// edit", which hands {prompt, mask} to the caller (mask: a PNG data: URI at the image's natural
// size, white = change, black = keep; null when nothing is painted: the whole image may change).

import { createPainter, painterToolbar } from "../painter.js";

function blobToDataUri(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error || new Error("The mask could not be read."));
    reader.readAsDataURL(blob);
  });
}

/**
 * Open the editor in ``section`` for one image.
 * @param {HTMLElement} section the (hidden) editor element
 * @param {{src: string, label: string, prompt?: string,
 *          onSubmit: (edit: {prompt: string, mask: string | null}) => Promise<void>}} options
 */
export async function openEditor(section, { src, label, prompt = "", onSubmit }) {
  closeEditor(section);
  const heading = document.createElement("h2");
  heading.textContent = `Edit ${label}`;
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = "Paint the area to change (nothing painted: the whole image may change).";
  const canvas = document.createElement("div");
  canvas.className = "canvas";
  const img = document.createElement("img");
  img.alt = label;
  img.src = src;
  canvas.append(img);
  const promptLabel = document.createElement("label");
  promptLabel.className = "prompt";
  promptLabel.textContent = "Prompt";
  const text = document.createElement("textarea");
  text.value = prompt;
  text.placeholder = "What to change";
  promptLabel.append(text);
  const apply = document.createElement("button");
  apply.type = "button";
  apply.className = "primary";
  apply.textContent = "Apply edit";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = "Cancel";
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(apply, cancel);
  section.replaceChildren(heading, hint, canvas, promptLabel, actions);
  section.hidden = false;

  await img.decode();
  const painter = createPainter(canvas, img, { brush: 32 });
  const toolbar = painterToolbar(painter);
  canvas.after(toolbar.element);
  section.closeEditor = () => painter.destroy();

  cancel.addEventListener("click", () => closeEditor(section));
  apply.addEventListener("click", async () => {
    const wanted = text.value.trim();
    if (!wanted) {
      text.setCustomValidity("Say what to change.");
      text.reportValidity();
      return;
    }
    text.setCustomValidity("");
    apply.disabled = true;
    try {
      const mask = painter.isEmpty() ? null : await blobToDataUri(await painter.toMaskBlob());
      await onSubmit({ prompt: wanted, mask });
      closeEditor(section);
    } finally {
      apply.disabled = false;
    }
  });
  text.focus();
}

export function closeEditor(section) {
  if (section.closeEditor) section.closeEditor();
  section.closeEditor = null;
  section.replaceChildren();
  section.hidden = true;
}
