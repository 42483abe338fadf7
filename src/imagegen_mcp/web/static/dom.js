// Small DOM helpers shared by the playground page and the MCP App view (which inlines them).

/**
 * A new element: `attrs` become attributes ("class" the class name, "text" the text, "onX" a
 * listener; null, undefined and false are left out, true is an empty attribute), then the
 * children that are not null or undefined.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** The prompt on one line, cut to `max` characters with an ellipsis. */
export function shortPrompt(prompt, max = 80) {
  const text = (prompt || "").replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
