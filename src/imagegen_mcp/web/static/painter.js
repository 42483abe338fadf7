// A mask painter over an image: the person paints the area to change with a brush or a
// rectangle; toMaskBlob() gives the mask the HTTP API and the edit tools take.
//
// Guarantees:
// - the mask is a PNG of exactly image.naturalWidth x image.naturalHeight, every pixel either
//   white (change) or black (keep): greyscale without an alpha channel, so opaque; no grey
//   edges, whatever the size the image is shown at;
// - painting happens in the image's own pixels (the canvas has the natural size and is only
//   scaled by CSS), so a mask drawn on a small view lines up with the full-size image;
// - every action (stroke, rectangle, invert, clear) can be undone, one at a time;
// - nothing here touches the network or the image: the canvas is laid over it and removed by
//   destroy().
//
// Plain ES module, no dependencies: the playground page and the MCP App both import it.

const TINT = "rgba(255, 45, 110, 1)"; // shown at the canvas' CSS opacity over the image

/**
 * @param {HTMLElement} container an element that contains `image` (made position: relative)
 * @param {HTMLImageElement} image a loaded image
 * @param {{brush?: number, onChange?: (painter: object) => void}} [options]
 *   brush: diameter in screen pixels; onChange: called after every change of the mask
 */
export function createPainter(container, image, { brush = 40, onChange } = {}) {
  const width = image.naturalWidth;
  const height = image.naturalHeight;
  if (!width || !height) {
    throw new Error("createPainter needs a loaded image: wait for its load event.");
  }
  if (getComputedStyle(container).position === "static") {
    container.style.position = "relative";
  }

  // The committed mask: opaque white where painted, transparent elsewhere, natural size.
  const mask = document.createElement("canvas");
  mask.width = width;
  mask.height = height;
  const maskCtx = mask.getContext("2d", { willReadFrequently: true });

  // What the person sees: the committed mask plus the action in progress, tinted.
  const view = document.createElement("canvas");
  view.width = width;
  view.height = height;
  view.className = "painter-canvas";
  view.setAttribute("aria-label", "Mask: paint the area to change");
  view.setAttribute("role", "img");
  Object.assign(view.style, {
    position: "absolute",
    touchAction: "none",
    cursor: "crosshair",
    opacity: "0.55",
  });
  const viewCtx = view.getContext("2d");
  container.appendChild(view);

  /** @type {Array<object>} */
  const actions = [];
  let tool = "brush";
  let brushSize = brush;
  let pending = null; // the stroke or rectangle being drawn
  let emptyCache = true;
  const listeners = new Set(onChange ? [onChange] : []);

  function place() {
    const box = container.getBoundingClientRect();
    const img = image.getBoundingClientRect();
    view.style.left = `${img.left - box.left - container.clientLeft + container.scrollLeft}px`;
    view.style.top = `${img.top - box.top - container.clientTop + container.scrollTop}px`;
    view.style.width = `${img.width}px`;
    view.style.height = `${img.height}px`;
  }
  const observer = new ResizeObserver(place);
  observer.observe(image);
  observer.observe(container);
  place();

  function scale() {
    const shown = view.getBoundingClientRect();
    return shown.width > 0 ? width / shown.width : 1;
  }

  function toImage(event) {
    const shown = view.getBoundingClientRect();
    const sx = shown.width > 0 ? width / shown.width : 1;
    const sy = shown.height > 0 ? height / shown.height : 1;
    return [
      Math.min(width, Math.max(0, (event.clientX - shown.left) * sx)),
      Math.min(height, Math.max(0, (event.clientY - shown.top) * sy)),
    ];
  }

  function drawAction(ctx, action) {
    ctx.save();
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#fff";
    if (action.type === "stroke") {
      const [first, ...rest] = action.points;
      ctx.lineWidth = action.size;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.arc(first[0], first[1], action.size / 2, 0, Math.PI * 2);
      ctx.fill();
      if (rest.length) {
        ctx.beginPath();
        ctx.moveTo(first[0], first[1]);
        for (const [x, y] of rest) ctx.lineTo(x, y);
        ctx.stroke();
      }
    } else if (action.type === "rect") {
      const x = Math.min(action.from[0], action.to[0]);
      const y = Math.min(action.from[1], action.to[1]);
      ctx.fillRect(x, y, Math.abs(action.to[0] - action.from[0]), Math.abs(action.to[1] - action.from[1]));
    } else if (action.type === "invert") {
      // XOR with a full opaque rectangle: painted becomes clear and clear becomes painted.
      ctx.globalCompositeOperation = "xor";
      ctx.fillRect(0, 0, width, height);
    } else if (action.type === "clear") {
      ctx.clearRect(0, 0, width, height);
    }
    ctx.restore();
  }

  function redrawMask() {
    maskCtx.clearRect(0, 0, width, height);
    for (const action of actions) drawAction(maskCtx, action);
  }

  function show() {
    viewCtx.save();
    viewCtx.clearRect(0, 0, width, height);
    viewCtx.drawImage(mask, 0, 0);
    if (pending) drawAction(viewCtx, pending);
    viewCtx.globalCompositeOperation = "source-in";
    viewCtx.fillStyle = TINT;
    viewCtx.fillRect(0, 0, width, height);
    viewCtx.restore();
  }

  // Opaque white/black pixels from the committed mask: painted where alpha >= 128.
  function binaryPixels() {
    const data = maskCtx.getImageData(0, 0, width, height);
    const px = data.data;
    let painted = 0;
    for (let i = 0; i < px.length; i += 4) {
      const on = px[i + 3] >= 128 ? 255 : 0;
      painted += on;
      px[i] = on;
      px[i + 1] = on;
      px[i + 2] = on;
      px[i + 3] = 255;
    }
    return { data, painted: painted > 0 };
  }

  function changed() {
    redrawMask();
    emptyCache = null;
    show();
    for (const listener of listeners) listener(api);
  }

  function commit(action) {
    actions.push(action);
    changed();
  }

  function onDown(event) {
    if (event.button !== 0 || !event.isPrimary) return;
    event.preventDefault();
    view.setPointerCapture(event.pointerId);
    const point = toImage(event);
    pending =
      tool === "rect"
        ? { type: "rect", from: point, to: point }
        : { type: "stroke", size: Math.max(1, brushSize * scale()), points: [point] };
    show();
  }

  function onMove(event) {
    if (!pending) return;
    const point = toImage(event);
    if (pending.type === "rect") pending.to = point;
    else pending.points.push(point);
    show();
  }

  function onUp(event) {
    if (!pending) return;
    if (view.hasPointerCapture(event.pointerId)) view.releasePointerCapture(event.pointerId);
    const done = pending;
    pending = null;
    if (done.type === "rect" && (done.from[0] === done.to[0] || done.from[1] === done.to[1])) {
      show(); // a click without a drag draws nothing
      return;
    }
    commit(done);
  }

  function onCancel() {
    pending = null;
    show();
  }

  view.addEventListener("pointerdown", onDown);
  view.addEventListener("pointermove", onMove);
  view.addEventListener("pointerup", onUp);
  view.addEventListener("pointercancel", onCancel);

  const api = {
    /** @param {"brush" | "rect"} name */
    setTool(name) {
      if (name !== "brush" && name !== "rect") throw new Error(`Unknown tool ${name}: use "brush" or "rect".`);
      tool = name;
    },
    get tool() {
      return tool;
    },
    /** @param {number} px brush diameter in screen pixels */
    setBrushSize(px) {
      brushSize = Math.max(1, Number(px) || 1);
    },
    get brushSize() {
      return brushSize;
    },
    /** Call `listener(painter)` after every change of the mask; returns the unsubscribe. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get canUndo() {
      return actions.length > 0;
    },
    undo() {
      if (actions.length) {
        actions.pop();
        changed();
      }
    },
    clear() {
      if (!api.isEmpty()) commit({ type: "clear" });
    },
    invert() {
      commit({ type: "invert" });
    },
    /** True when nothing would change: no pixel is painted. */
    isEmpty() {
      if (emptyCache === null) emptyCache = !binaryPixels().painted;
      return emptyCache;
    },
    /** The mask as a PNG Blob at the image's natural size: white = change, black = keep. */
    async toMaskBlob() {
      const { data } = binaryPixels();
      const grey = new Uint8Array(width * height);
      for (let i = 0; i < grey.length; i += 1) grey[i] = data.data[i * 4];
      return greyPng(width, height, grey);
    },
    destroy() {
      observer.disconnect();
      view.removeEventListener("pointerdown", onDown);
      view.removeEventListener("pointermove", onMove);
      view.removeEventListener("pointerup", onUp);
      view.removeEventListener("pointercancel", onCancel);
      view.remove();
      actions.length = 0;
      listeners.clear();
    },
  };
  return api;
}

// --- PNG encoding -------------------------------------------------------------------------------
// The mask is written as an 8-bit greyscale PNG without an alpha channel. canvas.toBlob() would
// give RGBA, and a reader that takes any alpha channel as a transparency mask (transparent =
// change) would see a fully opaque mask that changes nothing. Without alpha, the PNG can only
// be read as black and white.

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, body) {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i += 1) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

async function zlib(bytes) {
  // CompressionStream("deflate") is the zlib format PNG's IDAT holds.
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A greyscale PNG of `grey` (one byte per pixel, rows top to bottom). */
export async function greyPng(width, height, grey) {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, greyscale, deflate, no filter method, no interlace
  const rows = new Uint8Array((width + 1) * height); // each row: filter type 0, then its pixels
  for (let y = 0; y < height; y += 1) rows.set(grey.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const signature = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [signature, chunk("IHDR", header), chunk("IDAT", await zlib(rows)), chunk("IEND", new Uint8Array())];
  return new Blob(parts, { type: "image/png" });
}

/**
 * The painter's buttons (Brush, Rectangle, Undo, Clear, Invert) and a brush size slider, in a
 * toolbar element the caller places. Tool buttons show their state with aria-pressed.
 * @param {ReturnType<typeof createPainter>} painter
 * @returns {{element: HTMLElement, update: () => void}}
 */
export function painterToolbar(painter, { sizes = [10, 200] } = {}) {
  const bar = document.createElement("div");
  bar.className = "painter-toolbar";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Mask tools");

  function button(label, onClick, title) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (title) b.title = title;
    b.addEventListener("click", () => {
      onClick();
      update();
    });
    bar.appendChild(b);
    return b;
  }

  const brush = button("Brush", () => painter.setTool("brush"), "Paint the area to change");
  const rect = button("Rectangle", () => painter.setTool("rect"), "Drag a rectangle to change");
  const sizeLabel = document.createElement("label");
  sizeLabel.className = "painter-size";
  sizeLabel.textContent = "Brush size ";
  const size = document.createElement("input");
  size.type = "range";
  size.min = String(sizes[0]);
  size.max = String(sizes[1]);
  size.value = String(painter.brushSize);
  size.addEventListener("input", () => painter.setBrushSize(Number(size.value)));
  sizeLabel.appendChild(size);
  bar.appendChild(sizeLabel);
  const undo = button("Undo", () => painter.undo(), "Undo the last action");
  const clear = button("Clear", () => painter.clear(), "Remove all painting");
  button("Invert", () => painter.invert(), "Change everything except what is painted");

  function update() {
    brush.setAttribute("aria-pressed", String(painter.tool === "brush"));
    rect.setAttribute("aria-pressed", String(painter.tool === "rect"));
    undo.disabled = !painter.canUndo;
    clear.disabled = painter.isEmpty();
  }
  painter.subscribe(update);
  update();
  return { element: bar, update };
}
