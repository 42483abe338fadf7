// A saved image's full bytes, through the host, as a data: URI (the view's CSP admits data:
// images and nothing from the network).
//
// Hosts that forward resource reads get resources/read on the image:// URI: one image per
// request. Others get get_task with preview "full", which carries every image of the task inline.

function dataUri(mimeType, base64) {
  return `data:${mimeType};base64,${base64}`;
}

/**
 * @param {App} app the connected ext-apps App
 * @returns {(view: object) => Promise<Map<number, string | Error>>} image index -> data: URI
 */
export function imageLoader(app) {
  const canRead = () => Boolean(app.getHostCapabilities()?.serverResources);

  async function read(image) {
    const result = await app.readServerResource({ uri: image.uri });
    const content = result.contents?.[0];
    if (!content || typeof content.blob !== "string") {
      throw new Error(`The host returned no bytes for ${image.uri}.`);
    }
    return dataUri(content.mimeType || image.mime_type, content.blob);
  }

  async function viaTool(view) {
    const result = await app.callServerTool({
      name: "get_task",
      arguments: { task_id: view.task_id, wait_seconds: 0, preview: "full" },
    });
    const blocks = (result.content || []).filter((block) => block.type === "image");
    // One image block per saved image, in the order of the task view's images.
    const missing = () => new Error("The host returned no bytes for this image.");
    return new Map(
      view.images.map((image, i) => {
        const block = blocks[i];
        return [image.index, block ? dataUri(block.mimeType, block.data) : missing()];
      }),
    );
  }

  return async function load(view) {
    if (!canRead()) return viaTool(view);
    // Each image on its own: one that fails is said in its place, the others still show.
    const loaded = await Promise.all(
      view.images.map((image) => read(image).catch((error) => error)),
    );
    return new Map(view.images.map((image, i) => [image.index, loaded[i]]));
  };
}
