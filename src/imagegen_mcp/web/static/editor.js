// Edit mode: the chosen image (a result or an upload) shown large with the mask painter over
// it. The mask is optional: with nothing painted the edit changes the whole image.

import { createPainter, painterToolbar } from "./painter.js";

export class Editor {
  constructor({ panel, stage, tools, onChange }) {
    Object.assign(this, { panel, stage, tools, onChange });
    this.target = null;
    this.painter = null;
  }

  get active() {
    return this.target !== null;
  }

  /** Start editing `target` = {ref, url, name, width, height}. */
  async start(target) {
    this.stop();
    this.target = target;
    this.panel.hidden = false;
    const img = document.createElement("img");
    img.className = "editor-image";
    img.alt = `Image being edited: ${target.name}`;
    img.src = target.url;
    img.draggable = false;
    this.stage.replaceChildren(img);
    this.onChange();
    try {
      await img.decode();
    } catch {
      if (this.target === target) {
        this.stop();
        throw new Error(`${target.name} could not be loaded for editing: pick it again or reload the page.`);
      }
      return;
    }
    if (this.target !== target) return; // another image was picked meanwhile
    this.painter = createPainter(this.stage, img, { brush: 40, onChange: () => this.onChange() });
    const toolbar = painterToolbar(this.painter);
    this.tools.replaceChildren(toolbar.element);
    this.panel.scrollIntoView({ behavior: "smooth", block: "start" });
    this.onChange();
  }

  stop() {
    if (this.painter) this.painter.destroy();
    this.painter = null;
    this.target = null;
    this.stage.replaceChildren();
    this.tools.replaceChildren();
    this.panel.hidden = true;
    this.onChange();
  }

  get hasMask() {
    return Boolean(this.painter && !this.painter.isEmpty());
  }

  /** The painted mask as a PNG Blob, or null when nothing is painted. */
  async maskBlob() {
    if (!this.hasMask) return null;
    return this.painter.toMaskBlob();
  }
}
