// The playground page: wires the picker, references, editor, gallery and history to the HTTP
// API. Every error the person sees is one line in the alert region; a refused reference file
// gets its own line under the drop zone.

import { ApiError, edit, generate, getModels, requestId, upload } from "./api.js";
import { referencesOf } from "./catalog.js";
import { Editor } from "./editor.js";
import { Gallery, Viewer } from "./gallery.js";
import { History } from "./history.js";
import { Picker } from "./picker.js";
import { References } from "./references.js";
import { Tasks } from "./tasks.js";

const $ = (selector) => document.querySelector(selector);

const errorLine = $("#error");
function showError(error) {
  const text = error instanceof Error ? error.message : String(error);
  errorLine.textContent = text.split("\n")[0];
  errorLine.dataset.kind = error instanceof ApiError && error.status === 0 ? "offline" : "other";
}
function clearError() {
  errorLine.textContent = "";
  delete errorLine.dataset.kind;
}

/** Ask the person the server's question; true when they accept. */
function confirmCost(question) {
  const dialog = $("#confirm");
  $("#confirm-question").textContent = question;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

/** POST `body` with `send`; on 409 ask the question and send again with confirmed: true. */
async function sendConfirmed(send, body) {
  try {
    return await send(body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.body?.confirm) {
      if (!(await confirmCost(error.body.confirm))) return null;
      return send({ ...body, confirmed: true });
    }
    throw error;
  }
}

async function start() {
  const form = $("#compose");
  const submit = $("#submit");
  const prompt = $("#prompt");
  let picker = null;

  const tasks = new Tasks({
    onChange: () => renderTasks(),
    onError: showError,
    // The server answers again (after a restart, say): the "cannot be reached" line is stale.
    onBack: () => {
      if (errorLine.dataset.kind === "offline") clearError();
    },
  });
  const viewer = new Viewer($("#viewer"));
  const editor = new Editor({
    panel: $("#editor"),
    stage: $("#editor-stage"),
    tools: $("#editor-tools"),
    onChange: () => renderMode(),
  });
  const references = new References({
    input: $("#ref-input"),
    dropzone: $("#dropzone"),
    list: $("#ref-list"),
    messages: $("#ref-messages"),
    limitLabel: $("#refs-limit"),
    limit: () => (picker && picker.model ? referencesOf(picker.model).max : 0),
    onEdit: (item) =>
      startEdit({ ref: item.ref, url: item.url, name: item.name, width: item.width, height: item.height }),
  });
  const gallery = new Gallery({
    root: $("#gallery"),
    viewer,
    onUseReference: (info) => {
      if (editor.active) editor.stop();
      if (references.addResult(info))
        $("#references").scrollIntoView({ behavior: "smooth", block: "nearest" });
    },
    onEdit: (info) => startEdit(info),
  });
  const history = new History({
    list: $("#history"),
    status: $("#counts"),
    onPick: (id) => gallery.focusTask(id),
  });

  function renderTasks() {
    const list = tasks.list();
    gallery.render(list);
    history.render(list.slice(0, 20), tasks.counts);
  }

  function renderMode() {
    const editing = editor.active;
    $("#edit-banner").hidden = !editing;
    $("#edit-target").textContent = editing ? editor.target.name : "";
    $("#edit-target").title = editing ? editor.target.name : ""; // whole, where it is cut short
    $("#references").hidden = editing;
    submit.textContent = editing ? "Apply edit" : "Generate";
    if (picker && picker.mode !== (editing ? "edit" : "generate"))
      picker.setMode(editing ? "edit" : "generate");
    renderMaskNote();
  }

  // A painted mask needs a model that takes one: say so while the person can still fix it.
  function renderMaskNote() {
    const note = $("#mask-note");
    const model = picker && picker.model;
    const refused = editor.active && editor.hasMask && model && !model.mask;
    note.hidden = !refused;
    if (refused) {
      const takers = picker.models.filter((m) => m.mask).map((m) => m.title);
      note.textContent = `${model.title} takes no mask: pick ${takers.join(", ")}, or press Clear to edit the whole image.`;
    }
  }

  function startEdit(target) {
    clearError();
    editor.start(target).catch(showError);
  }

  $("#cancel-edit").addEventListener("click", () => editor.stop());

  async function editBody(model) {
    const mask = await editor.maskBlob();
    const body = { prompt: prompt.value.trim(), image: editor.target.ref };
    if (mask) {
      if (!model.mask) {
        throw new Error(
          `${model.title} cannot take a mask: pick a model with masked edits, or press Clear to edit the whole image.`,
        );
      }
      const stored = await upload(mask, "mask.png");
      body.mask = `upload:${stored.id}`;
    }
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError();
    if (!picker || !picker.model) {
      showError("The models have not loaded yet: reload the page.");
      return;
    }
    if (!prompt.value.trim()) {
      showError("Write a prompt first: describe the image you want.");
      prompt.focus();
      return;
    }
    const model = picker.model;
    const editing = editor.active;
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      let answer;
      if (editing) {
        const choice = picker.choice(); // a refused custom size uploads no mask
        const body = { ...(await editBody(model)), ...choice, client_request_id: requestId() };
        answer = await sendConfirmed(edit, body);
      } else {
        if (references.busy)
          throw new Error("Wait for the reference images to finish uploading, then press Generate again.");
        const limit = referencesOf(model).max;
        const refs = references.refs();
        if (refs.length > limit) {
          throw new Error(
            `${model.title} takes at most ${limit} reference image${limit === 1 ? "" : "s"}: remove ${refs.length - limit}, or pick another model.`,
          );
        }
        const body = { prompt: prompt.value.trim(), ...picker.choice(), client_request_id: requestId() };
        if (refs.length) body.reference_images = refs;
        answer = await sendConfirmed(generate, body);
      }
      if (answer === null) return; // the person declined the cost
      tasks.put(answer.task, { first: true });
      renderTasks();
      if (editing) editor.stop();
      gallery.focusTask(answer.task.task_id);
      tasks.refresh().catch(showError);
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  // Files dropped anywhere on the page are references too (the drop zone takes its own drops
  // first); without this the browser would leave the page to show the file. Pasted images too.
  const carriesFiles = (transfer) => Boolean(transfer && Array.from(transfer.types || []).includes("Files"));
  function takeFiles(files) {
    if (editor.active) {
      showError("Leave edit mode (Cancel edit) to add reference images.");
      return;
    }
    clearError();
    references.addFiles(files);
  }
  window.addEventListener("dragover", (event) => {
    if (carriesFiles(event.dataTransfer)) event.preventDefault();
  });
  window.addEventListener("drop", (event) => {
    if (event.defaultPrevented || !carriesFiles(event.dataTransfer)) return;
    event.preventDefault();
    takeFiles(Array.from(event.dataTransfer.files));
  });
  document.addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData?.files || []);
    if (!files.length) return; // text goes where it was pasted
    event.preventDefault();
    takeFiles(files);
  });

  // Ctrl/Cmd+Z undoes the last painting action while editing (not while typing).
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLElement && event.target.matches("textarea, input, select");
    if (
      editor.painter &&
      !typing &&
      event.key === "z" &&
      (event.ctrlKey || event.metaKey) &&
      !event.shiftKey
    ) {
      event.preventDefault();
      editor.painter.undo();
    }
  });

  // Ctrl/Cmd+Enter in the prompt sends it.
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });

  const [catalog] = await Promise.all([
    getModels(),
    tasks.refresh().catch((error) => {
      showError(error);
    }),
  ]);
  picker = new Picker({
    form,
    catalog,
    onChange: () => {
      references.render();
      renderMaskNote();
    },
  });
  $("#sandbox-note").hidden = catalog.upstream !== "sandbox";
  references.render(); // the limit is known now that a model is chosen
  renderTasks();
  document.body.dataset.ready = "true";
}

start().catch(showError);
