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
  const values = text.split(",").map(Number).filter((v) => Number.isInteger(v) && v > 0);
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
  parts.push(refs.max ? `up to ${refs.max} reference image${refs.max > 1 ? "s" : ""}` : "no reference images");
  if (model.mask) parts.push("masked edits");
  if (!canGenerate(model)) parts.push("edits only");
  if (model.price) parts.push(`${model.price} credits`);
  return parts.join(" · ");
}
