// Reading the catalog entries GET /api/models gives (tools/catalog_view.py: ModelInfo), so the
// picker offers only what the chosen model accepts. Pure functions: no DOM here.

/** The sizes a select can offer: named ones ("auto", "16:9", "1024x1024"); "WxH ..." is a rule
 * for free sizes, not a value. */
export function sizesOf(model) {
  return (model.sizes || []).filter((size) => !size.startsWith("WxH"));
}

export function resolutionsOf(model) {
  return model.tiers || [];
}

export function qualitiesOf(model) {
  return model.qualities || [];
}

/** The counts the model takes: "1-10" -> 1..10, "1,2,4" -> [1, 2, 4], "4 fixed" -> [4]. */
export function countsOf(model) {
  const text = String(model.n || "1").trim();
  const fixed = /^(\d+) fixed$/.exec(text);
  if (fixed) return [Number(fixed[1])];
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) {
    const out = [];
    for (let i = Number(range[1]); i <= Number(range[2]); i += 1) out.push(i);
    return out;
  }
  const values = text
    .split(",")
    .map(Number)
    .filter((v) => Number.isInteger(v) && v > 0);
  return values.length ? values : [1];
}

/** {min, max, maxMb} from "<=16, 50MB each", "1-3, 10MB each, in the prompt" or "none". */
export function referencesOf(model) {
  const text = String(model.references || "none");
  if (text === "none") return { min: 0, max: 0, maxMb: 0 };
  const upTo = /^<=(\d+)/.exec(text);
  const range = /^(\d+)-(\d+)/.exec(text);
  const mb = /([\d.]+)MB each/.exec(text);
  return {
    min: range ? Number(range[1]) : 0,
    max: upTo ? Number(upTo[1]) : range ? Number(range[2]) : 0,
    maxMb: mb ? Number(mb[1]) : 0,
  };
}

export function canGenerate(model) {
  return (model.modes || []).includes("generate");
}

export function canEdit(model) {
  return (model.modes || []).includes("edit");
}

/**
 * One option's control, from its summary: "a|b (a)" -> enum, "bool (false)", "int 0-9",
 * "text<=500". Returns {name, kind, values, min, max, maxChars, default}.
 */
export function optionOf(name, summary) {
  const match = /^(.*?)(?: \(([^()]*)\))?$/.exec(summary.trim());
  const body = match ? match[1] : summary;
  const fallback = match && match[2] !== undefined ? match[2] : null;
  if (body === "bool") return { name, kind: "bool", default: fallback };
  const int = /^int(?: (-?\d*)-(-?\d*))?$/.exec(body);
  if (int) {
    return {
      name,
      kind: "int",
      min: int[1] ? Number(int[1]) : null,
      max: int[2] ? Number(int[2]) : null,
      default: fallback,
    };
  }
  const text = /^text(?:<=(\d+))?$/.exec(body);
  if (text) return { name, kind: "text", maxChars: text[1] ? Number(text[1]) : null, default: fallback };
  return { name, kind: "enum", values: body.split("|"), default: fallback };
}

export function optionsOf(model) {
  return Object.entries(model.options || {}).map(([name, summary]) => optionOf(name, summary));
}

/** The option's value as the API takes it, or undefined for "leave it to the model". */
export function optionValue(option, raw) {
  if (raw === "" || raw === undefined || raw === null) return undefined;
  if (option.kind === "bool") return raw === "true";
  if (option.kind === "int") return Number(raw);
  return raw;
}

/** A short line about the model for the picker's hint. */
export function describe(model) {
  const parts = [];
  const refs = referencesOf(model);
  parts.push(
    refs.max ? `up to ${refs.max} reference image${refs.max > 1 ? "s" : ""}` : "no reference images",
  );
  if (model.mask) parts.push("masked edits");
  if (!canGenerate(model)) parts.push("edits only");
  if (model.price) parts.push(`${model.price} credits`);
  return parts.join(" · ");
}

/** The select's value for "Custom…": a width and a height of the person's own. */
export const CUSTOM_SIZE = "custom";

const megapixels = (area) => (area / 1e6).toFixed(2);
const thousands = (value) => value.toLocaleString("en-US");
const UNBOUNDED_SIDE = 100000;
const UNBOUNDED_AREA = 1e10;
const UNBOUNDED_ASPECT = 1e9;

/** The model's free pixel sizes in words ("16-3840 px a side, multiples of 16, ..."). */
export function pixelsHint(rule) {
  const parts = [];
  if (rule.max_side < UNBOUNDED_SIDE) parts.push(`${rule.min_side}-${rule.max_side} px a side`);
  else if (rule.min_side > 1) parts.push(`at least ${rule.min_side} px a side`);
  if (rule.multiple > 1) parts.push(`multiples of ${rule.multiple}`);
  const lowArea = rule.min_area > 1;
  const highArea = rule.max_area < UNBOUNDED_AREA;
  if (lowArea && highArea) parts.push(`${megapixels(rule.min_area)}-${megapixels(rule.max_area)} MP`);
  else if (lowArea) parts.push(`at least ${megapixels(rule.min_area)} MP`);
  else if (highArea) parts.push(`at most ${megapixels(rule.max_area)} MP`);
  if (rule.max_aspect < UNBOUNDED_ASPECT) parts.push(`up to ${rule.max_aspect}:1`);
  if (rule.single_image_only) parts.push("one image at a time");
  return parts.join(", ");
}

/**
 * What is wrong with a custom `width` x `height` (as typed) for `model`, in one line, or "" when
 * it fits the model's rule. The same checks as the server's (service/validation.py), which
 * checks again: this only saves a round trip.
 */
export function customSizeProblem(model, width, height, n) {
  const rule = model.pixels;
  if (!rule) return `${model.title} takes only the sizes in the list: pick one.`;
  const w = Number(width);
  const h = Number(height);
  if (!(String(width).trim() && String(height).trim() && Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) {
    return "Enter the custom size's width and height in whole pixels.";
  }
  if (rule.single_image_only && n !== undefined && n !== 1) {
    return `${model.title} takes a custom size only for one image: set Count to 1, or pick a listed size.`;
  }
  const problems = [];
  if (w % rule.multiple || h % rule.multiple) problems.push(`both sides a multiple of ${rule.multiple}`);
  if (Math.min(w, h) < rule.min_side || Math.max(w, h) > rule.max_side) {
    problems.push(`each side ${rule.min_side}-${rule.max_side} px`);
  }
  const area = w * h;
  if (area < rule.min_area || area > rule.max_area) {
    problems.push(`${thousands(rule.min_area)}-${thousands(rule.max_area)} pixels in all`);
  }
  if (Math.max(w, h) / Math.max(1, Math.min(w, h)) > rule.max_aspect) {
    problems.push(`an aspect ratio within ${rule.max_aspect}:1`);
  }
  if (!problems.length) return "";
  return `${model.title} takes custom sizes with ${problems.join(" and ")}; not ${w}x${h}.`;
}
