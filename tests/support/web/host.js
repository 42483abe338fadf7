// A minimal MCP Apps host for the tests: the view in a sandboxed iframe (scripts only, an opaque
// origin, a CSP that admits inline code and data: images and nothing from the network), the
// ext-apps AppBridge on this side, and every request the view makes relayed to the real server
// through window.mcpRelay (bound by the Python test to an MCP client).

import { AppBridge, PostMessageTransport } from "./ext-apps-app-bridge-2.0.4.bundle.js";

const CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
  "img-src data:; connect-src 'none'; frame-src 'none'; base-uri 'none'";

let bridge = null;

async function relay(method, params) {
  const answer = JSON.parse(await window.mcpRelay(method, JSON.stringify(params)));
  if (answer.error) throw new Error(answer.error);
  return answer.result;
}

function withCsp(html) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${CSP}">`;
  const at = html.indexOf("<head>");
  if (at < 0) throw new Error("The view has no <head>.");
  return html.slice(0, at + 6) + meta + html.slice(at + 6);
}

/** Load the view's HTML and wait for its initialize handshake; ``readsResources``: whether the
 * host forwards the view's resources/read (some hosts forward tool calls only). */
window.hostOpen = async (html, hostContext, readsResources) => {
  const frame = document.createElement("iframe");
  frame.title = "Image tasks view";
  frame.setAttribute("sandbox", "allow-scripts");
  document.body.append(frame);
  bridge = new AppBridge(
    null,
    { name: "imagegen-mcp test host", version: "1.0.0" },
    readsResources ? { serverTools: {}, serverResources: {}, logging: {} } : { serverTools: {}, logging: {} },
    { hostContext },
  );
  bridge.oncalltool = (params) => relay("tools/call", params);
  if (readsResources) bridge.onreadresource = (params) => relay("resources/read", params);
  bridge.onloggingmessage = (params) => console.log("view log:", JSON.stringify(params));
  const initialized = new Promise((resolve) => {
    bridge.oninitialized = resolve;
  });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.srcdoc = withCsp(html);
  await initialized;
};

/** What a chat host does when the model calls a tool bound to the view. */
window.hostRunTool = async (name, args) => {
  await bridge.sendToolInput({ arguments: args });
  const result = await relay("tools/call", { name, arguments: args });
  await bridge.sendToolResult(result);
  return result;
};
