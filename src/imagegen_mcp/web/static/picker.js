// The model picker and the choices that depend on it: sizes, resolutions, qualities, counts and
// options are offered only as the chosen model accepts them (from GET /api/models); a select the
// model has nothing for is hidden. A value kept across a model change only if the new model
// offers it too. A model with free pixel sizes also gets "Custom…" in the Size list: a width
// and a height checked against its rule as they are typed, sent as "WxH".

import {
  CUSTOM_SIZE,
  canEdit,
  canGenerate,
  countsOf,
  customSizeProblem,
  describe,
  optionsOf,
  optionValue,
  pixelsHint,
  qualitiesOf,
  resolutionsOf,
  sizesOf,
} from "./catalog.js";
import { el } from "./dom.js";

const STORED_MODEL = "imagegen.model";

function fill(select, values, { withDefault = true, label = (v) => v } = {}) {
  const before = select.value;
  const options = values.map((value) => el("option", { value: String(value), text: label(value) }));
  if (withDefault) options.unshift(el("option", { value: "", text: "Default" }));
  select.replaceChildren(...options);
  if (values.map(String).includes(before)) select.value = before;
  const field = select.closest(".field");
  if (field) field.hidden = values.length === 0 || (!withDefault && values.length === 1);
}

export class Picker {
  constructor({ form, catalog, onChange }) {
    this.form = form;
    this.models = catalog.models;
    this.defaultId = catalog.default;
    this.onChange = onChange;
    this.mode = "generate";
    this.select = form.querySelector("#model");
    this.note = form.querySelector("#model-note");
    this.size = form.querySelector("#size");
    this.resolution = form.querySelector("#resolution");
    this.quality = form.querySelector("#quality");
    this.count = form.querySelector("#count");
    this.optionsBox = form.querySelector("#options-box");
    this.optionsGrid = form.querySelector("#options");
    this.custom = form.querySelector("#custom-size");
    this.width = form.querySelector("#size-width");
    this.height = form.querySelector("#size-height");
    this.customHint = form.querySelector("#custom-size-hint");
    for (const control of [this.size, this.count, this.width, this.height]) {
      control.addEventListener("input", () => this.renderCustom());
      control.addEventListener("change", () => this.renderCustom());
    }
    this.select.addEventListener("change", () => {
      localStorage.setItem(STORED_MODEL, this.select.value);
      this.update();
    });
    this.setMode("generate");
  }

  get model() {
    return this.models.find((model) => model.id === this.select.value) || null;
  }

  /** "generate" lists the models that generate; "edit" those that edit. */
  setMode(mode) {
    this.mode = mode;
    const fits = this.models.filter((model) => (mode === "edit" ? canEdit(model) : canGenerate(model)));
    const wanted = [this.select.value, localStorage.getItem(STORED_MODEL), this.defaultId];
    const chosen = wanted.find((id) => id && fits.some((model) => model.id === id)) || fits[0]?.id;
    this.select.replaceChildren(...this.listed(fits));
    if (chosen) this.select.value = chosen;
    this.update();
  }

  /** The options for `models`: the server's default first, marked so; the models the catalog
   * calls older last, under their own heading (the default stays on top whatever its age). */
  listed(models) {
    const option = (model) =>
      el("option", {
        value: model.id,
        text: model.id === this.defaultId ? `${model.title} (default)` : model.title,
      });
    const first = models.filter((model) => model.id === this.defaultId);
    const rest = models.filter((model) => model.id !== this.defaultId);
    const older = rest.filter((model) => model.status === "older");
    const options = [...first, ...rest.filter((model) => model.status !== "older")].map(option);
    if (older.length) options.push(el("optgroup", { label: "Older models" }, ...older.map(option)));
    return options;
  }

  update() {
    const model = this.model;
    if (!model) return;
    const age = model.status === "older" ? "older model" : null;
    this.note.textContent = [model.id, age, describe(model)].filter(Boolean).join(" · ");
    this.note.title = model.note || "";
    const sizes = model.pixels ? [...sizesOf(model), CUSTOM_SIZE] : sizesOf(model);
    fill(this.size, sizes, { label: (v) => (v === CUSTOM_SIZE ? "Custom…" : v) });
    fill(this.resolution, resolutionsOf(model));
    fill(this.quality, qualitiesOf(model));
    fill(this.count, countsOf(model), { withDefault: false });
    const countField = this.count.closest(".field");
    if (countField) countField.hidden = countsOf(model).length < 2;
    this.renderOptions(model);
    this.renderCustom();
    this.onChange(model);
  }

  /** The custom size's fields, shown while "Custom…" is chosen, with the rule or the problem. */
  renderCustom() {
    const model = this.model;
    const on = Boolean(model && model.pixels && this.size.value === CUSTOM_SIZE);
    this.custom.hidden = !on;
    if (!on) return;
    const rule = model.pixels;
    this.width.min = this.height.min = String(rule.min_side);
    this.width.step = this.height.step = String(rule.multiple);
    const typed = this.width.value !== "" && this.height.value !== "";
    const problem = typed ? customSizeProblem(model, this.width.value, this.height.value, this.countValue()) : "";
    this.customHint.textContent = problem || `${model.title}: ${pixelsHint(rule)}.`;
    this.customHint.dataset.kind = problem ? "problem" : "";
    for (const input of [this.width, this.height]) input.setAttribute("aria-invalid", String(Boolean(problem)));
  }

  countValue() {
    const counts = countsOf(this.model);
    return counts.length > 1 && this.count.value ? Number(this.count.value) : counts[0];
  }

  renderOptions(model) {
    const options = optionsOf(model);
    this.optionsBox.hidden = options.length === 0;
    this.optionsGrid.replaceChildren(
      ...options.map((option) => {
        const id = `option-${option.name}`;
        const label = el("label", { for: id, text: option.name.replaceAll("_", " ") });
        let control;
        if (option.kind === "enum" || option.kind === "bool") {
          const values = option.kind === "bool" ? ["true", "false"] : option.values;
          control = el("select", { id, "data-option": option.name });
          const shownDefault = option.default ? `Default (${option.default})` : "Default";
          control.append(
            el("option", { value: "", text: shownDefault }),
            ...values.map((value) => el("option", { value, text: value })),
          );
        } else if (option.kind === "int") {
          control = el("input", {
            id,
            type: "number",
            step: "1",
            min: option.min,
            max: option.max,
            "data-option": option.name,
            placeholder: "default",
          });
        } else {
          control = el("input", {
            id,
            type: "text",
            maxlength: option.maxChars,
            "data-option": option.name,
            placeholder: "default",
          });
        }
        return el("div", { class: "field" }, label, control);
      }),
    );
  }

  /** What to ask for, as the API's JSON fields (unset ones left out). */
  choice() {
    const model = this.model;
    const out = { model: model.id };
    if (this.size.value === CUSTOM_SIZE) {
      const problem = customSizeProblem(model, this.width.value, this.height.value, this.countValue());
      if (problem) throw new Error(problem);
      out.size = `${Number(this.width.value)}x${Number(this.height.value)}`;
    } else if (this.size.value) out.size = this.size.value;
    if (this.resolution.value) out.resolution = this.resolution.value;
    if (this.quality.value) out.quality = this.quality.value;
    const counts = countsOf(model);
    if (counts.length > 1 && this.count.value) out.n = Number(this.count.value);
    const options = {};
    for (const option of optionsOf(model)) {
      const control = this.optionsGrid.querySelector(`[data-option="${option.name}"]`);
      const value = control ? optionValue(option, control.value) : undefined;
      if (value !== undefined) options[option.name] = value;
    }
    if (Object.keys(options).length) out.options = options;
    return out;
  }
}
