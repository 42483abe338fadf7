// The edit panel: the chosen image with the shared mask painter over it, a prompt, and "Apply
// edit", which hands {prompt, mask} to the caller (mask: a PNG data: URI at the image's natural
// size, white = change, black = keep; null when nothing is painted: the whole image may change).

import { el } from "../dom.js";
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
  const img = el("img", { alt: label, src });
  const canvas = el("div", { class: "canvas" }, img);
  const text = el("textarea", { placeholder: "What to change" });
  text.value = prompt; // a textarea's value is its content, not an attribute
  const apply = el("button", { type: "button", class: "primary", text: "Apply edit" });
  const cancel = el("button", { type: "button", text: "Cancel" });
  section.replaceChildren(
    el("h2", { text: `Edit ${label}` }),
    el("p", {
      class: "hint",
      text: "Paint the area to change (nothing painted: the whole image may change).",
    }),
    canvas,
    el("label", { class: "prompt", text: "Prompt" }, text),
    el("div", { class: "actions" }, apply, cancel),
  );
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
