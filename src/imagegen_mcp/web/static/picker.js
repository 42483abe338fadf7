// The model picker and the choices that depend on it: sizes, resolutions, qualities, counts and
// options are offered only as the chosen model accepts them (from GET /api/models); a select the
// model has nothing for is hidden. A value kept across a model change only if the new model
// offers it too.

import {
  canEdit,
  canGenerate,
  countsOf,
  describe,
  optionsOf,
  optionValue,
  qualitiesOf,
  resolutionsOf,
  sizesOf,
} from "./catalog.js";
import { el } from "./gallery.js";

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
    this.select.replaceChildren(
      ...fits.map((model) =>
        el("option", { value: model.id, text: model.status === "older" ? `${model.title} (older)` : model.title }),
      ),
    );
    if (chosen) this.select.value = chosen;
    this.update();
  }

  update() {
    const model = this.model;
    if (!model) return;
    this.note.textContent = [model.id, describe(model)].join(" · ");
    this.note.title = model.note || "";
    fill(this.size, sizesOf(model));
    fill(this.resolution, resolutionsOf(model));
    fill(this.quality, qualitiesOf(model));
    fill(this.count, countsOf(model), { withDefault: false });
    const countField = this.count.closest(".field");
    if (countField) countField.hidden = countsOf(model).length < 2;
    this.renderOptions(model);
    this.onChange(model);
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
          control = el("input", { id, type: "number", step: "1", min: option.min, max: option.max, "data-option": option.name, placeholder: "default" });
        } else {
          control = el("input", { id, type: "text", maxlength: option.maxChars, "data-option": option.name, placeholder: "default" });
        }
        return el("div", { class: "field" }, label, control);
      }),
    );
  }

  /** What to ask for, as the API's JSON fields (unset ones left out). */
  choice() {
    const model = this.model;
    const out = { model: model.id };
    if (this.size.value) out.size = this.size.value;
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
